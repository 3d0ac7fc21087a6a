import { SwitchboardError, validate } from '@switchboard/core';
import type { Context } from 'hono';
import type { z } from 'zod';
import { type Principal, requireScope, type Scope } from './auth.js';
import { CBOR_TYPE, decodeBody, encodeBody, requestMediaType, responseMediaType } from './codec.js';
import type { SwitchboardApi } from './port.js';
import { readBody } from './read-body.js';

/** Where the server stands: `starting` and `draining` answer 503 to new work. */
export type ServerState = 'starting' | 'ready' | 'draining';

/** What every handler can reach through `c.get` (`c.var` copies them all on every read). */
export interface AppVariables {
  principal: Principal;
  ip: string;
}

/** Settings the routes share. */
export interface RouteSettings {
  readonly engine: SwitchboardApi;
  readonly maxBodyBytes: number;
  readonly state: () => ServerState;
}

/** The Hono environment of the app. */
export type AppEnv = { Variables: AppVariables };

/** The context of a handler. */
export type AppContext = Context<AppEnv>;

/** Answers `value` with `status`, as JSON or CBOR as the client's `Accept` asks. */
export function send(c: AppContext, status: number, value: unknown): Response {
  const type = responseMediaType(c.req.header('accept') ?? null);
  const body = encodeBody(value, type);
  return new Response(body as BodyInit, {
    status,
    headers: { 'content-type': type === 'json' ? 'application/json' : CBOR_TYPE },
  });
}

/**
 * Reads, decodes and validates the request body. When `optional`, an empty body counts as
 * `{}` (the endpoints whose body docs/http.md calls optional).
 */
export async function parseBody<S extends z.ZodType>(
  c: AppContext,
  settings: RouteSettings,
  schema: S,
  optional = false,
): Promise<z.output<S>> {
  const bytes = await readBody(c.req.raw, settings.maxBodyBytes);
  if (bytes.byteLength === 0) return check(schema, optional ? {} : undefined);
  const type = requestMediaType(c.req.header('content-type') ?? null);
  return check(schema, decodeBody(bytes, type));
}

/**
 * `validate` of core, with the same result and the same error, but much cheaper for a valid
 * value. A parse with a context (core's, which words the issues) costs far more than one
 * without, so the context is only passed to word the error of a value that has already
 * failed (see bench/RESULTS.md, HTTP, first pass).
 *
 * @throws SwitchboardError `invalid_request`, exactly as `validate` does.
 */
export function check<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const parsed = schema.safeParse(value);
  return parsed.success ? parsed.data : validate(schema, value);
}

/** Throws `forbidden` unless the caller has one of `scopes` (admin always has). */
export function allow(c: AppContext, ...scopes: Scope[]): void {
  requireScope(c.get('principal'), scopes);
}

/** Throws `unavailable` unless the server takes new work (not starting nor draining). */
export function acceptingWork(settings: RouteSettings): void {
  const state = settings.state();
  if (state !== 'ready') {
    throw new SwitchboardError('unavailable', `the server is ${state}`, { retryable: true });
  }
}

/** Throws `not_found` naming what was missing. */
export function notFound(what: string, id: string): never {
  throw new SwitchboardError('not_found', `unknown ${what} ${JSON.stringify(id)}`);
}
