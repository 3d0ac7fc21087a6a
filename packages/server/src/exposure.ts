import { SwitchboardError } from '@switchboard/core';
import type { ResolvedConfig } from './config.js';

/**
 * Whether a listen address only takes connections from this machine: `localhost`, an IPv4
 * address in 127.0.0.0/8, or `::1` (with or without brackets, or IPv4-mapped). Any other
 * name is taken as reachable from elsewhere, since it may resolve to any interface.
 */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = /^(?:::ffff:)?(127)\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h);
  return v4?.slice(2).every((part) => Number(part) <= 255) === true;
}

/** Whether any token is configured, which turns auth on. */
export function authOn(config: ResolvedConfig): boolean {
  return Object.values(config.tokens).some((t) => t !== undefined && t.length > 0);
}

/**
 * Refuses to serve without auth on an address other machines can reach, unless the
 * operator said so (`--allow-unauthenticated` or `allowUnauthenticated: true`): without a
 * token anyone who reaches the port may submit, lease, complete and replay tasks.
 *
 * @throws SwitchboardError `invalid_config` with one line saying what to do.
 */
export function checkExposure(config: ResolvedConfig): void {
  if (authOn(config) || isLoopback(config.host) || config.allowUnauthenticated === true) return;
  throw new SwitchboardError(
    'invalid_config',
    `refusing to serve on ${config.host} without auth: set a token (SWITCHBOARD_ADMIN_TOKEN, SWITCHBOARD_CLIENT_TOKEN, SWITCHBOARD_AGENT_TOKEN or "tokens" in the config file), listen on a loopback address (--host 127.0.0.1), or pass --allow-unauthenticated to open the port to anyone who can reach it`,
    { details: { host: config.host } },
  );
}

/** The startup line's word on auth: `on`, `off`, or a warning that the port is open. */
export function authLabel(config: ResolvedConfig, port: number): string {
  if (authOn(config)) return 'on';
  if (isLoopback(config.host)) return 'off';
  return `off: port ${port} is open without auth to anyone who can reach ${config.host}`;
}
