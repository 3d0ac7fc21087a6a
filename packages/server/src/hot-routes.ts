import { isTraceparent, isTracestate, taskBatchSchema, taskSubmitSchema } from '@switchboard/core';
import type { z } from 'zod';
import { type Principal, requireScope } from './auth.js';
import {
  CBOR_TYPE,
  decodeBody,
  encodeBody,
  JSON_TYPE,
  requestMediaType,
  responseMediaType,
} from './codec.js';
import { remoteAddress } from './conn-info.js';
import type { Admission } from './guard.js';
import { type AppContext, acceptingWork, check, notFound, type RouteSettings } from './http.js';
import { toErrorReply } from './http-error.js';
import type { ApiSubmit } from './port.js';
import { readBody } from './read-body.js';
import { toTaskView } from './views.js';

/** The request headers the hot routes read. */
export type HotHeader =
  | 'authorization'
  | 'content-type'
  | 'content-length'
  | 'accept'
  | 'traceparent'
  | 'tracestate';

/**
 * A request to a hot route, as any runtime can present it without building a web `Request`:
 * Hono's context on every runtime, or Node's `IncomingMessage` directly (`node-hot-path.ts`).
 */
export interface HotRequest {
  /** The peer address (never a forwarded-for header). */
  readonly ip: string;
  /** A header as `Headers.get` gives it (repeats joined with `, `), or null. */
  header(name: HotHeader): string | null;
  /**
   * The body, with `readBody`'s rules: a declared length over `limit` fails before a byte
   * is read (413); a body the client aborts is `invalid_request`.
   */
  body(limit: number): Uint8Array | Promise<Uint8Array>;
  /** The request as a web `Request`: built only to report a bug (a 500). */
  request(): Request;
}

/** An answer ready to write: its status, headers (without `Content-Length`) and body. */
export interface HotAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string | Uint8Array;
}

/**
 * The two routes that carry the submit load, `POST /v1/tasks` and `POST /v1/tasks/batch`,
 * from the guard to the answer (errors included), so that Hono and Node's direct path
 * (`node-hot-path.ts`) run the very same steps in the same order.
 */
export interface HotRoutes {
  /** `POST /v1/tasks`: 202 `{"id", "status": "queued"}`, or 200 and the task for a repeated idempotency key. */
  submit(request: HotRequest): Promise<HotAnswer>;
  /** `POST /v1/tasks/batch`: 202 `{"ids"}`, all or nothing. */
  batch(request: HotRequest): Promise<HotAnswer>;
}

/** What the hot routes share with the rest of the app. */
export interface HotRouteDeps {
  readonly settings: RouteSettings;
  readonly admission: Admission;
  readonly onBug: (error: unknown, request: Request) => void;
}

const JSON_HEADERS: Readonly<Record<string, string>> = { 'content-type': JSON_TYPE };
const CBOR_HEADERS: Readonly<Record<string, string>> = { 'content-type': CBOR_TYPE };

/** `value` encoded as the client's `Accept` asks, as `send` in http.ts does. */
function answer(request: HotRequest, status: number, value: unknown): HotAnswer {
  const type = responseMediaType(request.header('accept'));
  const headers = type === 'json' ? JSON_HEADERS : CBOR_HEADERS;
  return { status, headers: { ...headers }, body: encodeBody(value, type) };
}

/** The error answer of anything a hot route threw, as the app's `onError` words it. */
function failure(request: HotRequest, err: unknown, deps: HotRouteDeps): HotAnswer {
  const reply = toErrorReply(err);
  if (reply.bug) deps.onBug(err, request.request());
  const res = answer(request, reply.status, reply.body);
  Object.assign(res.headers, reply.headers);
  return res;
}

/**
 * Sets the W3C `traceparent` and `tracestate` headers on each task whose body gives no
 * `traceparent` of its own. An invalid `traceparent` header is ignored and so is the
 * `tracestate` with it, as the W3C spec asks of a receiver (the task then starts a trace of
 * its own); an invalid `tracestate` alone is dropped.
 */
function traceHeaders(request: HotRequest, tasks: ApiSubmit[]): void {
  const traceparent = request.header('traceparent');
  if (traceparent === null || !isTraceparent(traceparent)) return;
  const state = request.header('tracestate');
  const tracestate = state !== null && isTracestate(state) ? state : undefined;
  for (const task of tasks) {
    if (task.traceparent !== undefined) continue;
    task.traceparent = traceparent;
    if (tracestate !== undefined) task.tracestate = tracestate;
  }
}

/** `parseBody` of http.ts over a {@link HotRequest}: read, decode, validate. */
async function parse<S extends z.ZodType>(
  request: HotRequest,
  limit: number,
  schema: S,
): Promise<z.output<S>> {
  const read = request.body(limit);
  const bytes = read instanceof Promise ? await read : read;
  if (bytes.byteLength === 0) return check(schema, undefined);
  const type = requestMediaType(request.header('content-type'));
  return check(schema, decodeBody(bytes, type));
}

/** Builds the {@link HotRoutes} of an app. Answers are not counted here: the caller counts. */
export function createHotRoutes(deps: HotRouteDeps): HotRoutes {
  const { settings, admission } = deps;
  const { engine } = settings;

  const submitOne = async (request: HotRequest, submitter: string): Promise<HotAnswer> => {
    // zod built the body afresh (unknown keys dropped), so it is ours to complete without
    // a copy.
    const body: ApiSubmit = await parse(request, settings.maxBodyBytes, taskSubmitSchema);
    body.submitter = submitter;
    if (body.traceparent === undefined) traceHeaders(request, [body]);
    const handle = await engine.submit(body);
    if (!handle.created) {
      // A repeated idempotency key created nothing: 200 with the first task as it stands.
      const task = await engine.get(handle.id);
      return answer(
        request,
        200,
        task === undefined ? notFound('task', handle.id) : toTaskView(task),
      );
    }
    if (request.header('accept') === null) {
      // The common answer, as JSON.stringify({ id, status }) writes it, without the object.
      const body = `{"id":${JSON.stringify(handle.id)},"status":"queued"}`;
      return { status: 202, headers: { ...JSON_HEADERS }, body };
    }
    return answer(request, 202, { id: handle.id, status: 'queued' });
  };

  const submitMany = async (request: HotRequest, submitter: string): Promise<HotAnswer> => {
    const { tasks } = await parse(request, settings.maxBodyBytes, taskBatchSchema);
    // As for a single task, zod built each task afresh, so the submitter is set in place: a
    // spread copy of every task was a measurable cost (see bench/RESULTS.md, HTTP, first pass).
    for (const task of tasks as ApiSubmit[]) task.submitter = submitter;
    traceHeaders(request, tasks);
    const handles = await engine.submitMany(tasks);
    return answer(request, 202, { ids: handles.map((h) => h.id) });
  };

  /**
   * Runs the guard, the client scope check and the 503 while the server is not ready, then
   * the route, and answers any error.
   */
  const route =
    (run: (request: HotRequest, submitter: string) => Promise<HotAnswer>) =>
    (request: HotRequest): Promise<HotAnswer> => {
      const onError = (err: unknown) => failure(request, err, deps);
      const admitted = (principal: Principal) => {
        requireScope(principal, ['client']);
        acceptingWork(settings);
        const { tokenId } = principal;
        return run(request, tokenId === 'anonymous' ? `ip:${request.ip}` : tokenId);
      };
      try {
        const principal = admission(request.ip, request.header('authorization'));
        return (
          principal instanceof Promise ? principal.then(admitted) : admitted(principal)
        ).catch(onError);
      } catch (err) {
        return Promise.resolve(onError(err));
      }
    };

  return { submit: route(submitOne), batch: route(submitMany) };
}

/** A Hono context as a {@link HotRequest}: how every runtime reaches the hot routes. */
export function hotRequestOf(c: AppContext): HotRequest {
  return {
    ip: remoteAddress(c.env, c.req.raw),
    header: (name) => c.req.header(name) ?? null,
    body: (limit) => readBody(c.req.raw, limit),
    request: () => c.req.raw,
  };
}

/** A {@link HotAnswer} as a web `Response`. */
export function toResponse(answer: HotAnswer): Response {
  return new Response(answer.body as BodyInit, {
    status: answer.status,
    headers: answer.headers,
  });
}
