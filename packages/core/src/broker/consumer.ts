import { SwitchboardError, toError } from '../errors.js';
import type { Message } from '../model/envelope.js';
import { priorityLevel } from '../model/priority.js';
import { BucketQueue } from '../structures/bucket-queue.js';
import type { DeadLetterReason } from './dead-letter-queue.js';
import type { BrokerStats, Delivery, DeliveryHandler, NackOptions } from './delivery.js';
import { isExpired } from './message.js';
import { type Cohort, VisibilityTimers } from './visibility-timers.js';

/** A message waiting for (or in) delivery to one consumer. */
export interface Pending {
  /** The consumer's own copy: `attempts` counts its deliveries to this consumer. */
  message: Message;
  /** The dead-letter key: the message id, or `id@consumer` for a fanned-out copy. */
  key: string;
  visibilityMs: number;
}

/** What a consumer needs from its broker. */
export interface ConsumerHost {
  readonly maxDeliveries: number;
  readonly counters: BrokerStats;
  now(): number;
  deadLetter(pending: Pending, reason: DeadLetterReason, source: string, error?: Error): void;
  reply(to: Message, from: string, payload: unknown, type: 'result' | 'error'): void;
}

interface InFlight {
  pending: Pending;
  cohort: Cohort;
}

/**
 * One endpoint or topic subscription of the broker: its pending messages in a
 * {@link BucketQueue} (priority, then FIFO), at most `prefetch` of them in flight, each
 * taken back for redelivery when its visibility timeout passes unsettled.
 */
export class Consumer {
  private readonly pending = new BucketQueue<Pending>();
  private readonly inFlight = new Map<number, InFlight>();
  private readonly timers: VisibilityTimers;
  private nextToken = 0;
  private pumping = false;
  private closed = false;

  constructor(
    readonly id: string,
    private readonly handler: DeliveryHandler,
    readonly prefetch: number,
    private readonly host: ConsumerHost,
  ) {
    this.timers = new VisibilityTimers(
      host.now,
      (token) => this.settle(token, 'timeout'),
      (token, cohort) => this.inFlight.get(token)?.cohort === cohort,
    );
  }

  enqueue(pending: Pending): void {
    if (this.closed) {
      this.host.deadLetter(pending, 'undeliverable', this.id, closedError(this.id));
      return;
    }
    this.pending.push(pending, priorityLevel(pending.message.priority));
    this.pump();
  }

  /** Stops delivering; dead-letters what was pending or in flight, as `undeliverable`. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.timers.clear();
    const left = Array.from(this.inFlight.values(), (flight) => flight.pending);
    this.inFlight.clear();
    left.push(...this.pending.popMany(this.pending.size));
    this.pending.clear();
    const error = closedError(this.id);
    for (const pending of left) this.host.deadLetter(pending, 'undeliverable', this.id, error);
  }

  private pump(): void {
    // Handlers run synchronously and may ack, nack or enqueue from inside a delivery: the
    // outer loop picks up whatever they changed, instead of recursing.
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (!this.closed && this.inFlight.size < this.prefetch && this.pending.size > 0) {
        const next = this.pending.pop()!;
        if (isExpired(next.message, this.host.now())) {
          this.host.deadLetter(next, 'expired', this.id);
        } else this.deliver(next);
      }
    } finally {
      this.pumping = false;
    }
  }

  private deliver(pending: Pending): void {
    const token = ++this.nextToken;
    const { message } = pending;
    const counters = this.host.counters;
    message.attempts++;
    counters.delivered++;
    if (message.attempts > 1) counters.redelivered++;
    this.inFlight.set(token, { pending, cohort: this.timers.start(token, pending.visibilityMs) });
    const delivery: Delivery = {
      message,
      ack: () => this.settle(token, 'ack'),
      nack: (options) => this.settle(token, 'nack', options),
      reply: (payload, type = 'result') => this.host.reply(message, this.id, payload, type),
    };
    try {
      const result = this.handler(delivery) as unknown;
      if (typeof (result as PromiseLike<void> | undefined)?.then === 'function') {
        (result as PromiseLike<void>).then(undefined, (error: unknown) =>
          this.settle(token, 'nack', { error }),
        );
      }
    } catch (error) {
      this.settle(token, 'nack', { error });
    }
  }

  private settle(
    token: number,
    how: 'ack' | 'nack' | 'timeout',
    options: NackOptions = {},
  ): boolean {
    const flight = this.inFlight.get(token);
    if (flight === undefined) return false;
    this.inFlight.delete(token);
    this.timers.stop(flight.cohort);
    const { pending } = flight;
    const counters = this.host.counters;
    if (how === 'ack') counters.acked++;
    else {
      if (how === 'nack') counters.nacked++;
      const error =
        how === 'timeout'
          ? new SwitchboardError('timeout', `not acknowledged within ${pending.visibilityMs} ms`)
          : options.error === undefined
            ? undefined
            : toError(options.error);
      if (how === 'nack' && options.requeue === false) {
        this.host.deadLetter(pending, 'rejected', this.id, error);
      } else if (pending.message.attempts >= this.host.maxDeliveries) {
        this.host.deadLetter(pending, 'max_deliveries', this.id, error);
      } else this.pending.push(pending, priorityLevel(pending.message.priority));
    }
    this.pump();
    return true;
  }
}

function closedError(id: string): SwitchboardError {
  return new SwitchboardError('unavailable', `consumer "${id}" is closed`);
}
