import { type ContractErrorCode, type ErrorCode, isSwitchboardError } from '@switchboard/core';
import { closesConnection } from './read-body.js';

/** The codes an error body may carry on the wire: docs/http.md's table, plus `internal` (a bug). */
export type WireCode = ContractErrorCode | 'internal';

/** HTTP status codes the server answers errors with. */
export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 429 | 500 | 503;

/**
 * The one place where an error code becomes a status and a wire code. Runtime codes map to
 * the contract code a client acts on the same way: a stale or cancelled lease is a conflict,
 * a missing agent is unavailable (retry later). `invalid_config` and `internal` are bugs or
 * server-side misconfiguration, never something a client sent, hence 500.
 */
const WIRE: Readonly<Record<ErrorCode, WireCode>> = {
  invalid_request: 'invalid_request',
  decode_error: 'invalid_request',
  unauthorized: 'unauthorized',
  forbidden: 'forbidden',
  not_found: 'not_found',
  agent_failed: 'not_found',
  conflict: 'conflict',
  invalid_transition: 'conflict',
  expired: 'conflict',
  cancelled: 'conflict',
  task_failed: 'conflict',
  deadlock: 'conflict',
  payload_too_large: 'payload_too_large',
  unsupported_media_type: 'unsupported_media_type',
  rate_limited: 'rate_limited',
  unavailable: 'unavailable',
  no_agent: 'unavailable',
  timeout: 'unavailable',
  invalid_config: 'internal',
  internal: 'internal',
};

const STATUS: Readonly<Record<WireCode, ErrorStatus>> = {
  invalid_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  unavailable: 503,
  internal: 500,
};

/** The body of every error answer. */
export interface ErrorBody {
  error: { code: WireCode; message: string; details?: unknown };
}

/** An error answer ready to send: its status, body and any extra header (`Retry-After`). */
export interface ErrorReply {
  status: ErrorStatus;
  body: ErrorBody;
  headers: Record<string, string>;
  /** True for a 500: a bug worth logging with its stack. */
  bug: boolean;
}

/** The wire code and status of a `SwitchboardError` code. */
export function statusOf(code: ErrorCode): { code: WireCode; status: ErrorStatus } {
  const wire = WIRE[code] ?? 'internal';
  return { code: wire, status: STATUS[wire] };
}

/** Seconds for a `Retry-After` header: at least 1, rounded up, from a delay in ms. */
export function retryAfterSeconds(ms: number): number {
  if (!Number.isFinite(ms)) return 3600;
  return Math.max(1, Math.ceil(ms / 1000));
}

function retryAfterMsOf(details: unknown): number | undefined {
  if (typeof details !== 'object' || details === null) return undefined;
  const ms = (details as { retryAfterMs?: unknown }).retryAfterMs;
  return typeof ms === 'number' && ms >= 0 ? ms : undefined;
}

/**
 * Turns anything thrown by a handler into the error answer of docs/http.md. A non-Switchboard
 * error is a bug: 500 `internal`, with a generic message so that internals never leak.
 *
 * @example
 * ```ts
 * const reply = toErrorReply(new SwitchboardError('conflict', 'stale lease'))
 * reply.status // 409
 * ```
 */
export function toErrorReply(err: unknown): ErrorReply {
  if (!isSwitchboardError(err)) {
    return {
      status: 500,
      body: { error: { code: 'internal', message: 'internal server error' } },
      headers: {},
      bug: true,
    };
  }
  const { code, status } = statusOf(err.code);
  const headers: Record<string, string> = {};
  let details = err.details;
  if (code === 'rate_limited') {
    const ms = retryAfterMsOf(err.details) ?? 1000;
    headers['retry-after'] = String(retryAfterSeconds(ms));
    details = { retryAfterMs: Number.isFinite(ms) ? ms : null };
  }
  // An oversized body left unread on the wire: the connection cannot carry another request.
  if (closesConnection(err)) headers.connection = 'close';
  const message = status === 500 ? 'internal server error' : err.message;
  const body: ErrorBody =
    details === undefined || status === 500
      ? { error: { code, message } }
      : { error: { code, message, details } };
  return { status, body, headers, bug: status === 500 };
}
