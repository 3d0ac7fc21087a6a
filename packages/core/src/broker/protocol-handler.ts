import type { RateLimiter } from '../contracts/rate-limiter.js';
import type { Serializer } from '../contracts/serializer.js';
import { type ErrorCode, SwitchboardError, toError } from '../errors.js';
import type { Message } from '../model/envelope.js';
import { messageSchema } from '../protocol/schemas/message-schema.js';
import { validate } from '../protocol/validator.js';

/** The largest message a handler decodes unless told otherwise: 1 MiB, as the HTTP API. */
export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;

/** The step of the pipeline where a message failed. */
export type ProtocolStage = 'decode' | 'validate' | 'rate_limit' | 'route';

/** What {@link ProtocolHandlerOptions.onError} learns about a failure. */
export interface ProtocolFailure {
  readonly stage: ProtocolStage;
  readonly submitter: string;
}

/** Options of a {@link ProtocolHandler}. */
export interface ProtocolHandlerOptions {
  /** Turns bytes into a value (e.g. `jsonSerializer`). */
  serializer: Serializer;
  /** One token per message from each submitter; no limit when absent. */
  limiter?: RateLimiter;
  /** Where a valid, admitted message goes (the broker). */
  route: (message: Message) => void | Promise<void>;
  /** Larger input is refused with `payload_too_large`. Default 1 MiB. */
  maxBytes?: number;
  /** Told of every failure, after it is counted and before it is thrown. */
  onError?: (error: SwitchboardError, failure: ProtocolFailure) => void;
  /** The clock given to the limiter, in ms. Default `Date.now`. */
  now?: () => number;
}

/** Context of one {@link ProtocolHandler.handle} call. */
export interface HandleContext {
  /** Who sent the bytes (a client or agent id): the rate-limit key. */
  submitter: string;
}

/** Counts of a handler since it was made. */
export interface ProtocolStats {
  /** Messages routed without error. */
  handled: number;
  /** Failed messages by error code. */
  rejected: Partial<Record<ErrorCode, number>>;
}

/**
 * The edge pipeline of incoming messages: decode → validate (`messageSchema`) → rate-limit
 * per submitter → route. Every failure is a {@link SwitchboardError} thrown to the caller
 * of that message only and counted by code; the handler holds no state that a failure
 * could corrupt, so the next message is handled as if nothing happened.
 *
 * @example
 * ```ts
 * const handler = new ProtocolHandler({
 *   serializer: jsonSerializer,
 *   limiter: createTokenBucket({ capacity: 100, refillPerSec: 50 }),
 *   route: (message) => broker.send(message),
 * })
 * await handler.handle(bytes, { submitter: 'client-7' })
 * ```
 */
export class ProtocolHandler {
  readonly #options: ProtocolHandlerOptions;
  readonly #maxBytes: number;
  #handled = 0;
  readonly #rejected: Partial<Record<ErrorCode, number>> = {};

  /** @throws SwitchboardError `invalid_config` for a `maxBytes` that is not an integer ≥ 1. */
  constructor(options: ProtocolHandlerOptions) {
    const maxBytes = options.maxBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) {
      throw new SwitchboardError(
        'invalid_config',
        `[protocol-handler] maxBytes must be an integer >= 1, got ${maxBytes}`,
      );
    }
    this.#options = options;
    this.#maxBytes = maxBytes;
  }

  /**
   * Decodes, validates, admits and routes one message; resolves with the routed message.
   *
   * @throws SwitchboardError `payload_too_large` or `decode_error` (decode),
   * `invalid_request` (validate), `rate_limited` with `details.retryAfterMs` (rate limit),
   * or the route's own error (a non-Switchboard one becomes `internal`, with its cause).
   */
  async handle(bytes: Uint8Array, context: HandleContext): Promise<Message> {
    const { serializer, limiter, route, now = Date.now } = this.#options;
    let stage: ProtocolStage = 'decode';
    try {
      const value = await serializer.decode(bytes, { maxBytes: this.#maxBytes });
      stage = 'validate';
      const message = validate(messageSchema, value);
      if (limiter !== undefined) {
        stage = 'rate_limit';
        const decision = limiter.tryAcquire(context.submitter, 1, now());
        if (!decision.allowed) {
          throw new SwitchboardError(
            'rate_limited',
            `submitter ${context.submitter} is over its rate limit`,
            { details: { retryAfterMs: decision.retryAfterMs } },
          );
        }
      }
      stage = 'route';
      await route(message);
      this.#handled++;
      return message;
    } catch (thrown) {
      throw this.#reject(thrown, stage, context.submitter);
    }
  }

  /** Messages handled and rejected so far (a snapshot). */
  stats(): ProtocolStats {
    return { handled: this.#handled, rejected: { ...this.#rejected } };
  }

  #reject(thrown: unknown, stage: ProtocolStage, submitter: string): SwitchboardError {
    const error =
      thrown instanceof SwitchboardError
        ? thrown
        : new SwitchboardError('internal', `${stage} failed: ${toError(thrown).message}`, {
            cause: thrown,
          });
    this.#rejected[error.code] = (this.#rejected[error.code] ?? 0) + 1;
    try {
      this.#options.onError?.(error, { stage, submitter });
    } catch {
      // An observer that throws must not replace the error the caller needs to see.
    }
    return error;
  }
}
