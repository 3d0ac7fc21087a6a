import { SwitchboardError } from '@switchboard/core';
import { Hono } from 'hono';
import { createAuth, type TokenConfig } from './auth.js';
import { addGuarded, createAdmission, createGuard, isGuardedPath } from './guard.js';
import { createHotRoutes, type HotRoutes, hotRequestOf, toResponse } from './hot-routes.js';
import { type AppEnv, type RouteSettings, send } from './http.js';
import { toErrorReply } from './http-error.js';
import { Lifecycle } from './lifecycle.js';
import type { SwitchboardApi } from './port.js';
import { createRequestLimiter, type HttpRateLimits } from './rate-limit.js';
import { DEFAULT_MAX_BODY_BYTES } from './read-body.js';
import { agentRoutes } from './routes/agents.js';
import { fairnessRoutes } from './routes/fairness.js';
import { opsRoutes } from './routes/ops.js';
import { scheduleRoutes } from './routes/schedules.js';
import { taskRoutes } from './routes/tasks.js';
import { uiRoutes } from './routes/ui.js';
import { type EventStreamOptions, EventStreams } from './sse.js';

/** Options of {@link createApp}. */
export interface AppOptions {
  /** Bearer tokens per scope; auth is on as soon as one is given. */
  tokens?: TokenConfig;
  /** The largest request body in bytes (413 above); default 1 MiB. */
  maxBodyBytes?: number;
  /** Per-token and per-IP request limits (429); off unless given. */
  rateLimits?: HttpRateLimits;
  /** Bounds of the event streams. */
  events?: EventStreamOptions;
  /** Shared with whoever starts and stops the server; default: already ready. */
  lifecycle?: Lifecycle;
  /** Told of every 500 (a bug): the error and the request. Defaults to `console.error`. */
  onBug?: (error: unknown, request: Request) => void;
}

/**
 * The app of {@link createApp}: a Hono app, plus its two submit routes for a runtime adapter
 * that can serve them without building a `Request` (Node's, see `node-hot-path.ts`); their
 * answers are counted in `/metrics` as the app's are.
 */
export type SwitchboardApp = Hono<AppEnv> & { readonly hot: HotRoutes };

/**
 * The Switchboard HTTP API of docs/http.md as a Hono app that only speaks
 * `fetch(Request) → Response`: serve it with `@hono/node-server`, `Bun.serve`,
 * `Deno.serve`, or any edge runtime.
 *
 * @example
 * ```ts
 * const sb = createSwitchboard()
 * await sb.start()
 * const app = createApp(sb, { tokens: { admin: process.env.ADMIN_TOKEN } })
 * Deno.serve({ port: 8787 }, app.fetch)
 * ```
 */
export function createApp(engine: SwitchboardApi, options: AppOptions = {}): SwitchboardApp {
  const lifecycle = options.lifecycle ?? new Lifecycle('ready');
  const auth = createAuth(options.tokens);
  const limiter = createRequestLimiter(options.rateLimits);
  const streams = new EventStreams(engine.events, options.events);
  const onBug =
    options.onBug ??
    ((error: unknown, request: Request) =>
      console.error(`[switchboard] 500 on ${request.method} ${request.url}`, error));
  const settings: RouteSettings = {
    engine,
    maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    state: () => lifecycle.state,
  };
  const responses = new Map<number, number>();
  lifecycle.onDrain(() => streams.closeAll());

  const app = new Hono<AppEnv>();

  app.onError((err, c) => {
    const reply = toErrorReply(err);
    if (reply.bug) onBug(err, c.req.raw);
    const res = send(c, reply.status, reply.body);
    for (const [name, value] of Object.entries(reply.headers)) res.headers.set(name, value);
    return res;
  });

  const admission = createAdmission(auth, limiter, lifecycle);
  const guard = createGuard(admission);
  app.notFound((c) => {
    const reply = () => {
      const { status, body } = toErrorReply(
        new SwitchboardError('not_found', `no route ${c.req.method} ${c.req.path}`),
      );
      return send(c, status, body);
    };
    // An unknown path under a guarded prefix is still guarded: without a token it is a 401,
    // so that the routes of the API cannot be probed anonymously.
    const admitted = isGuardedPath(c.req.path) ? guard(c) : undefined;
    return admitted === undefined ? reply() : admitted.then(reply);
  });

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', (c) => {
    const state = lifecycle.state;
    return c.json({ status: state }, state === 'ready' ? 200 : 503);
  });
  // The dashboard's files are public; the page itself asks for a token when the API wants one.
  uiRoutes(app);

  // The submit routes guard themselves (the same checks in the same order) so that a
  // runtime can serve them without Hono; see hot-routes.ts.
  const hot = createHotRoutes({ settings, admission, onBug });
  app.post('/v1/tasks', (c) => hot.submit(hotRequestOf(c)).then(toResponse));
  app.post('/v1/tasks/batch', (c) => hot.batch(hotRequestOf(c)).then(toResponse));

  const routes = new Hono<AppEnv>();
  agentRoutes(routes, settings);
  taskRoutes(routes, settings, streams);
  scheduleRoutes(routes, settings);
  fairnessRoutes(routes, settings);
  opsRoutes(routes, settings, streams, () => ({
    responses,
    eventClients: streams.clients,
    eventClientsDropped: streams.dropped,
  }));
  addGuarded(app, routes, guard);

  // Responses are counted by status around the whole app (error and 404 answers included)
  // rather than by a `*` middleware, which would put every request through Hono's compose.
  const count = <R extends { readonly status: number }>(res: R): R => {
    responses.set(res.status, (responses.get(res.status) ?? 0) + 1);
    return res;
  };
  const dispatch = app.fetch;
  app.fetch = (request, env, executionCtx) => {
    const res = dispatch(request, env, executionCtx);
    return res instanceof Promise ? res.then(count) : count(res);
  };
  const counted: HotRoutes = {
    submit: (request) => hot.submit(request).then(count),
    batch: (request) => hot.batch(request).then(count),
  };
  return Object.assign(app, { hot: counted });
}
