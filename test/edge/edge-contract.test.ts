import { describe } from 'vitest';
import { runE2E } from '../e2e/contract.js';
import type { E2EConfig } from '../e2e/harness.js';
import { serveOnWorkerd } from './workerd.js';

/** The settings of a contract suite's server as the Worker's bindings (docs/edge.md). */
function bindingsOf(config: E2EConfig): Record<string, string> {
  const bindings: Record<string, string> = {};
  for (const [scope, token] of Object.entries(config.tokens ?? {})) {
    if (token !== undefined) bindings[`SWITCHBOARD_${scope.toUpperCase()}_TOKEN`] = token;
  }
  if (config.heartbeatTimeoutMs !== undefined) {
    bindings.SWITCHBOARD_HEARTBEAT_TIMEOUT_MS = String(config.heartbeatTimeoutMs);
  }
  if (config.maxBodyBytes !== undefined) {
    bindings.SWITCHBOARD_MAX_BODY_BYTES = String(config.maxBodyBytes);
  }
  // A server the suite starts without tokens is open, as `switchboard serve` on loopback.
  if (config.tokens === undefined) bindings.SWITCHBOARD_ALLOW_UNAUTHENTICATED = 'true';
  if (config.rateLimits !== undefined) {
    bindings.SWITCHBOARD_RATE_LIMITS = JSON.stringify(config.rateLimits);
  }
  return bindings;
}

// The HTTP contract of docs/http.md against the API on workerd: the Durable Object of
// examples/edge-worker/api-worker.ts, its bindings made from the suite's settings.
describe('HTTP contract on workerd (a Durable Object)', () => {
  runE2E(async (config) => {
    const worker = await serveOnWorkerd('api-worker.ts', {
      durableObjects: { SWITCHBOARD: { className: 'SwitchboardHub', useSQLite: true } },
      bindings: bindingsOf(config),
    });
    return { url: worker.url.replace(/\/$/, ''), stop: () => worker.stop() };
  });
});
