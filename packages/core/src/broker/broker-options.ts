import { SwitchboardError } from '../errors.js';
import type { EventBus } from '../events/event-bus.js';
import type { Message } from '../model/envelope.js';
import type { Priority } from '../model/priority.js';
import type { DeadLetterQueue } from './dead-letter-queue.js';

/** Options of a {@link MessageBroker}. */
export interface MessageBrokerOptions {
  /** How long a delivery may stay unsettled before it is delivered again; default 30 s. */
  visibilityTimeoutMs?: number;
  /** Deliveries of one message to one consumer before it is dead-lettered; default 5. */
  maxDeliveries?: number;
  /** Default of the most unsettled deliveries one consumer holds at once; default 16. */
  prefetch?: number;
  /** Refuse payloads whose JSON is larger than this many UTF-8 bytes. */
  maxPayloadBytes?: number;
  /** Default timeout of `request`; default 30 s. */
  requestTimeoutMs?: number;
  /** The bus carrying topic messages; a private one by default. */
  bus?: EventBus;
  /** Where undeliverable messages go; a new unbounded queue by default. */
  deadLetters?: DeadLetterQueue<Message>;
  now?: () => number;
}

/** Per-message options of send, publish and broadcast. */
export interface SendOptions {
  /** Overrides the visibility timeout (and the message's header) for this message. */
  visibilityTimeoutMs?: number;
}

/** Options of {@link MessageBroker.request}. */
export interface RequestOptions {
  timeoutMs?: number;
  /** The requester's name, used as `sender` and `replyTo`; default `broker`. */
  sender?: string;
  priority?: Priority;
  ttlMs?: number;
}

/** `value` when it is an integer ≥ 1, `fallback` when undefined; else `invalid_config`. */
export function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new SwitchboardError('invalid_config', `${name} must be an integer ≥ 1, got ${value}`);
  }
  return value;
}

/** The broker's settings with defaults applied and checked. */
export interface ResolvedBrokerOptions {
  visibilityTimeoutMs: number;
  maxDeliveries: number;
  prefetch: number;
  maxPayloadBytes: number | undefined;
  requestTimeoutMs: number;
  now: () => number;
}

/** Applies the defaults; throws `invalid_config` naming the first bad option. */
export function resolveBrokerOptions(options: MessageBrokerOptions): ResolvedBrokerOptions {
  const { maxPayloadBytes } = options;
  if (maxPayloadBytes !== undefined) positiveInteger('maxPayloadBytes', maxPayloadBytes, 0);
  return {
    visibilityTimeoutMs: positiveInteger(
      'visibilityTimeoutMs',
      options.visibilityTimeoutMs,
      30_000,
    ),
    maxDeliveries: positiveInteger('maxDeliveries', options.maxDeliveries, 5),
    prefetch: positiveInteger('prefetch', options.prefetch, 16),
    maxPayloadBytes,
    requestTimeoutMs: positiveInteger('requestTimeoutMs', options.requestTimeoutMs, 30_000),
    now: options.now ?? Date.now,
  };
}
