import { SwitchboardError } from '@switchboard/core';
import type { Handler, Hono } from 'hono';
import { ANONYMOUS, type Auth, type Principal } from './auth.js';
import { remoteAddress } from './conn-info.js';
import type { AppContext, AppEnv } from './http.js';
import type { Lifecycle } from './lifecycle.js';
import type { RequestLimiter } from './rate-limit.js';

/**
 * The checks every `/v1/*`, `/metrics` and `/openapi.json` request passes before its
 * handler: the per-IP limit (before authentication, so that a flood of bad tokens is limited
 * too), the bearer token, the per-token limit, and 503 while the server starts. Sets `ip` and
 * `principal` for the handler. Synchronous (`undefined`) when auth is off, since there is
 * then nothing to wait for; a promise while a token is checked.
 *
 * @throws SwitchboardError `rate_limited`, `unauthorized` or `unavailable`.
 */
export type Guard = (c: AppContext) => undefined | Promise<void>;

/** Builds the {@link Guard} of an app. */
export function createGuard(auth: Auth, limiter: RequestLimiter, lifecycle: Lifecycle): Guard {
  const admit = (c: AppContext, principal: Principal, ip: string): undefined => {
    c.set('principal', principal);
    limiter.checkToken(principal.tokenId === 'anonymous' ? `ip:${ip}` : principal.tokenId);
    if (lifecycle.state === 'starting') {
      throw new SwitchboardError('unavailable', 'the server is starting');
    }
    return undefined;
  };
  return (c) => {
    const ip = remoteAddress(c.env, c.req.raw);
    c.set('ip', ip);
    limiter.checkIp(ip);
    if (!auth.enabled) return admit(c, ANONYMOUS, ip);
    return auth.authenticate(c.req.header('authorization') ?? null).then((principal) => {
      admit(c, principal, ip);
    });
  };
}

/** True for the paths the guard covers: Hono's `/v1/*` (`/v1` included), `/metrics`, `/openapi.json`. */
export function isGuardedPath(path: string): boolean {
  return (
    path === '/v1' || path.startsWith('/v1/') || path === '/metrics' || path === '/openapi.json'
  );
}

/**
 * Adds every route of `routes` to `app` with the guard run first, inside the handler. The
 * guard could be a middleware, but then every request would have two handlers and go
 * through Hono's compose (an async function, a closure and a microtask turn per layer);
 * one handler a route takes Hono's direct path, measured 6 µs a request less on Node.
 */
export function addGuarded(app: Hono<AppEnv>, routes: Hono<AppEnv>, guard: Guard): void {
  for (const route of routes.routes) {
    const handler = route.handler as Handler<AppEnv>;
    app.on(route.method, route.path, (c, next) => {
      const admitted = guard(c);
      return admitted === undefined ? handler(c, next) : admitted.then(() => handler(c, next));
    });
  }
}
