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

/**
 * The guard's checks apart from any framework, for a request known by its peer address and
 * `Authorization` header: the per-IP limit, the bearer token, the per-token limit, and 503
 * while the server starts, in that order. It returns the principal, synchronously while auth
 * is off.
 *
 * @throws SwitchboardError `rate_limited`, `unauthorized` or `unavailable`.
 */
export type Admission = (
  ip: string,
  authorization: string | null,
) => Principal | Promise<Principal>;

/** Builds the {@link Admission} of an app. */
export function createAdmission(
  auth: Auth,
  limiter: RequestLimiter,
  lifecycle: Lifecycle,
): Admission {
  const admit = (principal: Principal, ip: string): Principal => {
    limiter.checkToken(principal.tokenId === 'anonymous' ? `ip:${ip}` : principal.tokenId);
    if (lifecycle.state === 'starting') {
      throw new SwitchboardError('unavailable', 'the server is starting');
    }
    return principal;
  };
  return (ip, authorization) => {
    limiter.checkIp(ip);
    if (!auth.enabled) return admit(ANONYMOUS, ip);
    return auth.authenticate(authorization).then((principal) => admit(principal, ip));
  };
}

/** Builds the {@link Guard} of an app on its {@link Admission}. */
export function createGuard(admission: Admission): Guard {
  return (c) => {
    const ip = remoteAddress(c.env, c.req.raw);
    c.set('ip', ip);
    const admitted = admission(ip, c.req.header('authorization') ?? null);
    if (!(admitted instanceof Promise)) {
      c.set('principal', admitted);
      return undefined;
    }
    return admitted.then((principal) => {
      c.set('principal', principal);
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
 * through Hono's compose (an async function, a closure and a microtask turn per layer).
 * With one handler, a route takes Hono's direct path, which costs less per request on Node
 * (see bench/RESULTS.md, Figures quoted in code comments before).
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
