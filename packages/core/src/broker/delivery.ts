import type { Message } from '../model/envelope.js';

/** Options of {@link Delivery.nack}. */
export interface NackOptions {
  /** Deliver it again (default), or dead-letter it at once with reason `rejected`. */
  requeue?: boolean;
  /** Why it failed; kept with the dead letter. */
  error?: unknown;
}

/**
 * One delivery of a message to a consumer. Exactly one of `ack` and `nack` settles it;
 * a delivery that is not settled within its visibility timeout is taken back and
 * delivered again. Settling a delivery that is already settled (or was taken back) does
 * nothing and answers `false`.
 */
export interface Delivery<P = unknown> {
  readonly message: Message<P>;
  /** Done: the message will not be delivered again. */
  ack(): boolean;
  /** Failed: deliver it again (while deliveries remain) or dead-letter it. */
  nack(options?: NackOptions): boolean;
  /**
   * Answers the message's sender (its `replyTo`, else `sender`) with a message correlated
   * to this one: a `result`, or an `error` that rejects a pending `request`. It does not ack.
   */
  reply(payload: unknown, type?: 'result' | 'error'): void;
}

/** A consumer of messages. Throwing, or rejecting, counts as `nack()`. */
export type DeliveryHandler<P = unknown> = (delivery: Delivery<P>) => void | Promise<void>;

/** The broker's counters since it started. */
export interface BrokerStats {
  /** Messages accepted by send, publish, broadcast and request. */
  sent: number;
  /** Handler calls, redeliveries included. */
  delivered: number;
  acked: number;
  nacked: number;
  /** Deliveries after the first of the same message to the same consumer. */
  redelivered: number;
  /** Dead letters added, of any reason. */
  deadLettered: number;
  /** Inputs refused as invalid (`invalid_request`). */
  rejected: number;
  /** Dead letters whose ttl ran out. */
  expired: number;
}

/** Counters all at zero. */
export function zeroStats(): BrokerStats {
  return {
    sent: 0,
    delivered: 0,
    acked: 0,
    nacked: 0,
    redelivered: 0,
    deadLettered: 0,
    rejected: 0,
    expired: 0,
  };
}
