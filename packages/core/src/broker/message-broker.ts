import { isSwitchboardError, SwitchboardError } from '../errors.js';
import { EventBus } from '../events/event-bus.js';
import type { Message } from '../model/envelope.js';
import {
  type MessageBrokerOptions,
  positiveInteger,
  type RequestOptions,
  type ResolvedBrokerOptions,
  resolveBrokerOptions,
  type SendOptions,
} from './broker-options.js';
import { Consumer, type ConsumerHost, type Pending } from './consumer.js';
import { type DeadLetter, DeadLetterQueue, type DeadLetterReason } from './dead-letter-queue.js';
import { type BrokerStats, type DeliveryHandler, zeroStats } from './delivery.js';
import { copyMessage, createMessage, isExpired } from './message.js';
import { RequestTracker } from './request-tracker.js';
import { assertRoutable, validateMessage, visibilityOf } from './validate-message.js';

/**
 * Routes messages to agents with at-least-once delivery: direct (`send`), by topic
 * (`publish`, with `*`/`**` patterns), to everyone (`broadcast`), and request/reply.
 *
 * Each endpoint or subscription gets messages by priority, then in order, with at most
 * `prefetch` unsettled at once. A delivery is settled by `ack()` or `nack()`; one not
 * settled within its visibility timeout is delivered again, and a message delivered
 * `maxDeliveries` times without an ack is dead-lettered. Nothing is dropped silently:
 * expired, rejected and undeliverable messages land in the dead-letter queue too.
 *
 * Handlers are called synchronously from `send`/`publish`/`broadcast` (or from the ack that
 * frees room). A direct message to an unknown recipient is dead-lettered *and* `send` throws
 * `no_agent` (not retryable: `replay` it from the dead-letter queue instead, or it would be
 * there twice). Invalid input throws `invalid_request` and changes nothing.
 *
 * @example
 * ```ts
 * const broker = new MessageBroker({ visibilityTimeoutMs: 10_000 })
 * broker.register('browser-1', async (d) => { await browse(d.message.payload); d.ack() })
 * broker.send(createMessage({ type: 'task', sender: 'planner', recipient: 'browser-1',
 *   payload: { url: 'https://example.org' } }))
 * const answer = await broker.request('llm-1', { prompt: 'hi' }, { timeoutMs: 5_000 })
 * ```
 */
export class MessageBroker {
  /** The dead-letter queue, for inspection; replay through {@link replay}. */
  readonly deadLetters: DeadLetterQueue<Message>;
  private readonly bus: EventBus;
  private readonly endpoints = new Map<string, Consumer>();
  private readonly subscriptions = new Map<string, { consumer: Consumer; off: () => void }>();
  private readonly requests = new RequestTracker();
  private readonly counters = zeroStats();
  private readonly host: ConsumerHost;
  private readonly config: ResolvedBrokerOptions;
  private readonly now: () => number;
  private nextSubscription = 0;
  private closed = false;

  constructor(options: MessageBrokerOptions = {}) {
    this.config = resolveBrokerOptions(options);
    this.now = this.config.now;
    this.bus = options.bus ?? new EventBus({ now: this.now });
    this.deadLetters = options.deadLetters ?? new DeadLetterQueue<Message>({ now: this.now });
    this.host = {
      maxDeliveries: this.config.maxDeliveries,
      counters: this.counters,
      now: this.now,
      deadLetter: (pending, reason, source, error) =>
        this.deadLetter(pending, reason, source, error),
      reply: (to, from, payload, type) => this.reply(to, from, payload, type),
    };
  }

  /** A copy of the counters. */
  stats(): BrokerStats {
    return { ...this.counters };
  }

  /** Registers the endpoint `agentId`; `prefetch` overrides the broker's default for it. */
  register(agentId: string, handler: DeliveryHandler, options: { prefetch?: number } = {}): void {
    this.assertOpen();
    if (typeof agentId !== 'string' || agentId.length === 0) {
      throw new SwitchboardError('invalid_request', 'agentId must be a non-empty string');
    }
    if (this.endpoints.has(agentId)) {
      throw new SwitchboardError('conflict', `endpoint "${agentId}" is already registered`);
    }
    const prefetch = positiveInteger('prefetch', options.prefetch, this.config.prefetch);
    this.endpoints.set(agentId, new Consumer(agentId, handler, prefetch, this.host));
  }

  /** Removes an endpoint; what it had pending or unsettled is dead-lettered `undeliverable`. */
  unregister(agentId: string): boolean {
    const consumer = this.endpoints.get(agentId);
    if (consumer === undefined) return false;
    this.endpoints.delete(agentId);
    consumer.close();
    return true;
  }

  /**
   * Consumes copies of the messages published to topics matching `pattern`; returns the
   * function that unsubscribes (dead-lettering what the subscription still held).
   */
  subscribe(
    pattern: string,
    handler: DeliveryHandler,
    options: { prefetch?: number } = {},
  ): () => void {
    this.assertOpen();
    const id = `${pattern}#${++this.nextSubscription}`;
    const prefetch = positiveInteger('prefetch', options.prefetch, this.config.prefetch);
    const consumer = new Consumer(id, handler, prefetch, this.host);
    const off = this.bus.subscribe(pattern, (event) => {
      const { message, visibilityMs } = event as unknown as Pending;
      consumer.enqueue({ message: copyMessage(message), key: `${message.id}@${id}`, visibilityMs });
    });
    this.subscriptions.set(id, { consumer, off });
    return () => {
      if (!this.subscriptions.delete(id)) return;
      off();
      consumer.close();
    };
  }

  /** Sends to `message.recipient`. Throws `no_agent` (after dead-lettering) if unknown. */
  send(message: Message, options?: SendOptions): void {
    const pending = this.accept(message, 'send', options);
    const { message: m } = pending;
    if (m.correlationId !== undefined && this.requests.settle(m)) return;
    if (this.expiredOnArrival(pending)) return;
    const consumer = this.endpoints.get(m.recipient!);
    if (consumer === undefined) {
      const error = new SwitchboardError('no_agent', `no endpoint "${m.recipient}"`, {
        retryable: false,
        details: { messageId: m.id, recipient: m.recipient, deadLettered: true },
      });
      this.deadLetter(pending, 'undeliverable', undefined, error);
      throw error;
    }
    consumer.enqueue(pending);
  }

  /** Publishes to `message.topic`; returns how many subscriptions take a copy (0 is fine). */
  publish(message: Message, options?: SendOptions): number {
    const pending = this.accept(message, 'publish', options);
    if (this.expiredOnArrival(pending)) return 0;
    return this.bus.publish(pending.message.topic!, pending);
  }

  /** Sends a copy to every registered endpoint; returns how many. */
  broadcast(message: Message, options?: SendOptions): number {
    const { message: m, visibilityMs } = this.accept(message, 'other', options);
    if (this.expiredOnArrival({ message: m, key: m.id, visibilityMs })) return 0;
    const consumers = [...this.endpoints.values()];
    for (const c of consumers)
      c.enqueue({ message: copyMessage(m), key: `${m.id}@${c.id}`, visibilityMs });
    return consumers.length;
  }

  /**
   * Sends `payload` to `recipient` and resolves with the payload of the reply: a
   * `delivery.reply(...)`, or any message whose `correlationId` is the request's id. Rejects
   * with `timeout` after `timeoutMs`, with `task_failed` for an `error` reply.
   */
  request<R = unknown>(
    recipient: string,
    payload: unknown,
    options: RequestOptions = {},
  ): Promise<R> {
    const sender = options.sender ?? 'broker';
    const { timeoutMs = this.config.requestTimeoutMs, priority, ttlMs } = options;
    const init = { type: 'task', sender, replyTo: sender, recipient, payload } as const;
    const message = createMessage(
      { ...init, ...(priority && { priority }), ...(ttlMs !== undefined && { ttlMs }) },
      this.now(),
    );
    const answer = this.requests.track<R>(message.id, recipient, timeoutMs);
    try {
      this.send(message);
    } catch (err) {
      this.requests.fail(message.id, err);
    }
    return answer;
  }

  /**
   * Replays dead letters (one by id, or those a predicate selects), attempts and ttl started
   * over, to the endpoint or subscription they were meant for, else by their address.
   * Returns how many were replayed. A fanned-out copy whose subscription (or endpoint) is
   * gone, and a direct message whose recipient is still unknown, stay dead-lettered.
   */
  replay(target: string | ((entry: DeadLetter<Message>) => boolean)): number {
    const entries =
      typeof target === 'string'
        ? [this.deadLetters.get(target)].filter((e) => e !== undefined)
        : this.deadLetters.list(target);
    let replayed = 0;
    for (const entry of entries) {
      const source = entry.source;
      const consumer =
        source === undefined
          ? undefined
          : (this.endpoints.get(source) ?? this.subscriptions.get(source)?.consumer);
      // Re-routing a copy by its address would hand it again to consumers that acked it.
      if (consumer === undefined && entry.id !== entry.message.id) continue;
      try {
        replayed += this.deadLetters.replay(entry.id, (m) => {
          const message = copyMessage(m);
          message.createdAt = this.now();
          if (consumer !== undefined)
            consumer.enqueue({ ...this.accept(message, 'other'), key: entry.id });
          else if (message.recipient !== undefined) this.send(message);
          else if (message.topic !== undefined) this.publish(message);
          else this.broadcast(message);
        });
      } catch (err) {
        // send() has dead-lettered it again; the other entries still deserve their replay.
        if (!isSwitchboardError(err, 'no_agent')) throw err;
      }
    }
    return replayed;
  }

  /** Stops: rejects pending requests, clears every timer, dead-letters what was in flight. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.requests.close();
    for (const { off, consumer } of this.subscriptions.values()) {
      off();
      consumer.close();
    }
    this.subscriptions.clear();
    for (const consumer of this.endpoints.values()) consumer.close();
    this.endpoints.clear();
  }

  private accept(
    message: Message,
    route: 'send' | 'publish' | 'other',
    options?: SendOptions,
  ): Pending {
    this.assertOpen();
    let visibilityMs: number;
    try {
      validateMessage(message, this.config.maxPayloadBytes);
      assertRoutable(message, route);
      visibilityMs = visibilityOf(
        message,
        options?.visibilityTimeoutMs,
        this.config.visibilityTimeoutMs,
      );
    } catch (err) {
      this.counters.rejected++;
      throw err;
    }
    this.counters.sent++;
    return { message: copyMessage(message), key: message.id, visibilityMs };
  }

  private expiredOnArrival(pending: Pending): boolean {
    if (!isExpired(pending.message, this.now())) return false;
    this.deadLetter(pending, 'expired', undefined);
    return true;
  }

  private deadLetter(
    pending: Pending,
    reason: DeadLetterReason,
    source: string | undefined,
    error?: Error,
  ): void {
    this.counters.deadLettered++;
    if (reason === 'expired') this.counters.expired++;
    this.deadLetters.add({
      id: pending.key,
      message: pending.message,
      reason,
      ...(error !== undefined && { error }),
      ...(source !== undefined && { source }),
    });
  }

  private reply(to: Message, from: string, payload: unknown, type: 'result' | 'error'): void {
    const recipient = to.replyTo ?? to.sender;
    const message = createMessage(
      { type, sender: from, recipient, correlationId: to.id, payload, priority: to.priority },
      this.now(),
    );
    if (this.requests.has(to.id) || this.endpoints.has(recipient)) {
      this.send(message);
      return;
    }
    // A late reply (its request timed out) or one to nobody: kept, but not the replier's fault.
    this.counters.sent++;
    const error = new SwitchboardError('no_agent', `no request nor endpoint "${recipient}"`);
    const pending = { message, key: message.id, visibilityMs: this.config.visibilityTimeoutMs };
    this.deadLetter(pending, 'undeliverable', undefined, error);
  }

  private assertOpen(): void {
    if (this.closed) throw new SwitchboardError('unavailable', 'the message broker is closed');
  }
}
