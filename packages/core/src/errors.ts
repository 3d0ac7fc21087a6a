/**
 * Every error Switchboard raises is a {@link SwitchboardError}: a stable machine-readable
 * `code`, whether retrying can help (`retryable`), optional `details`, and the `cause`.
 * Recovery and retry logic decide by `code`/`retryable`, never by message text; the HTTP
 * server maps `code` to a status in one place.
 */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** The client-facing codes of the HTTP contract (docs/http.md): what an error body carries. */
export type ContractErrorCode = (typeof CONTRACT_ERROR_CODES)[number];

const CONTRACT_ERROR_CODES = [
  'invalid_request',
  'unauthorized',
  'forbidden',
  'not_found',
  'conflict',
  'payload_too_large',
  'unsupported_media_type',
  'rate_limited',
  'unavailable',
] as const;

/** Every {@link ErrorCode}: the contract's codes, then the runtime ones. */
export const ERROR_CODES = [
  ...CONTRACT_ERROR_CODES,
  'invalid_config',
  'invalid_transition',
  'decode_error',
  'expired',
  'timeout',
  'cancelled',
  'no_agent',
  'task_failed',
  'agent_failed',
  'deadlock',
  'internal',
] as const;

/** Options of a {@link SwitchboardError}. */
export interface SwitchboardErrorOptions {
  /** Whether the same operation may succeed if tried again. Defaults per code. */
  retryable?: boolean;
  /** Structured context: validation issues, the ids involved, a retry delay. */
  details?: unknown;
  /** The underlying error. */
  cause?: unknown;
}

const RETRYABLE_BY_DEFAULT: ReadonlySet<ErrorCode> = new Set([
  'rate_limited',
  'unavailable',
  'timeout',
  'no_agent',
  'agent_failed',
  'task_failed',
]);

/**
 * The one error class of Switchboard.
 *
 * @example
 * ```ts
 * try { await sb.run(task) } catch (err) {
 *   if (err instanceof SwitchboardError && err.code === 'rate_limited') retryLater(err.details)
 * }
 * ```
 */
export class SwitchboardError extends Error {
  override readonly name = 'SwitchboardError';
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, options: SwitchboardErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? RETRYABLE_BY_DEFAULT.has(code);
    this.details = options.details;
  }

  /** A plain object safe to serialize (no stack, no cause chain). */
  toJSON(): { code: ErrorCode; message: string; retryable: boolean; details?: unknown } {
    return this.details === undefined
      ? { code: this.code, message: this.message, retryable: this.retryable }
      : {
          code: this.code,
          message: this.message,
          retryable: this.retryable,
          details: this.details,
        };
  }
}

/** True when `err` is a {@link SwitchboardError}, optionally of the given code. */
export function isSwitchboardError(err: unknown, code?: ErrorCode): err is SwitchboardError {
  return err instanceof SwitchboardError && (code === undefined || err.code === code);
}

/**
 * Turns anything thrown (a non-Error value included) into an `Error`, keeping the original
 * as `cause`, so a handler that throws `'oops'` or `undefined` still yields a useful message.
 */
export function toError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  let text: string;
  try {
    text = typeof thrown === 'string' ? thrown : (JSON.stringify(thrown) ?? String(thrown));
  } catch {
    // Circular or BigInt values cannot be stringified as JSON; String() always works.
    text = String(thrown);
  }
  return new Error(`non-Error value thrown: ${text}`, { cause: thrown });
}

// Named constructors of the errors raised in several places, so that each reads the same
// (code, message and details) wherever it comes from.

/** `not_found` for a task id that no backend knows. */
export function taskNotFound(id: string): SwitchboardError {
  return new SwitchboardError('not_found', `no task ${id}`, { details: { taskId: id } });
}

/** `not_found` for an agent id that this Switchboard does not know. */
export function agentNotFound(id: string): SwitchboardError {
  return new SwitchboardError('not_found', `no agent ${id}`, { details: { agentId: id } });
}

/** `unavailable` for a submit after shutdown began (retryable: another server may take it). */
export function shuttingDown(): SwitchboardError {
  return new SwitchboardError('unavailable', 'Switchboard is shutting down');
}
