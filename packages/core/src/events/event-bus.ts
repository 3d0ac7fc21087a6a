import { SwitchboardError, toError } from '../errors.js';
import { assertTopic, compilePattern, type TopicMatcher } from './topic-pattern.js';

/** What a subscriber receives: the topic, the time of publishing (epoch ms), and the data. */
export interface BusEvent {
  topic: string;
  at: number;
  [key: string]: unknown;
}

/** A subscriber. It may be async; its rejection is reported like a throw. */
export type EventHandler = (event: BusEvent) => void | Promise<void>;

/** Options of {@link EventBus.subscribe}. */
export interface SubscribeOptions {
  /** Only events for which this returns true are delivered (a throw counts as an error). */
  filter?: (event: BusEvent) => boolean;
  /** Unsubscribe after the first delivered event. */
  once?: boolean;
}

/** Options of an {@link EventBus}. */
export interface EventBusOptions {
  /** Told of every subscriber (or filter) that throws or rejects. */
  onError?: (error: Error, event: BusEvent, pattern: string) => void;
  /** The clock of `event.at`; defaults to `Date.now`. */
  now?: () => number;
  /** How many topics' subscriber lists to keep cached; defaults to 1024. */
  cacheSize?: number;
}

interface Subscription extends TopicMatcher {
  readonly id: number;
  readonly handler: EventHandler;
  readonly filter: ((event: BusEvent) => boolean) | undefined;
  readonly once: boolean;
  active: boolean;
}

const NONE: readonly Subscription[] = [];

/**
 * Synchronous publish/subscribe on dot-separated topics, with `*` (one segment) and `**`
 * (any number of segments) wildcards in subscription patterns.
 *
 * Matching is cheap with many subscriptions: exact patterns sit in a map, wildcard patterns
 * are compiled once, and each topic's list of matching subscriptions is cached until the
 * next (un)subscribe. A subscriber that throws or rejects never reaches the publisher nor
 * the other subscribers: it is counted in `errors` and reported to `onError`.
 *
 * @example
 * ```ts
 * const bus = new EventBus({ onError: (err, event) => log.warn(err, event.topic) })
 * const off = bus.subscribe('agent.**.failed', (e) => page(e.agentId))
 * bus.publish('agent.browser.failed', { agentId: 'browser-1' })
 * off()
 * ```
 */
export class EventBus {
  private readonly exact = new Map<string, readonly Subscription[]>();
  private wildcards: readonly Subscription[] = [];
  private readonly cache = new Map<string, readonly Subscription[]>();
  private readonly onError: EventBusOptions['onError'];
  private readonly now: () => number;
  private readonly cacheSize: number;
  private nextId = 0;
  private count = 0;
  private errorCount = 0;

  constructor(options: EventBusOptions = {}) {
    this.onError = options.onError;
    this.now = options.now ?? Date.now;
    this.cacheSize = options.cacheSize ?? 1024;
  }

  /** The number of active subscriptions. */
  get size(): number {
    return this.count;
  }

  /** How many times a subscriber or filter has thrown or rejected. */
  get errors(): number {
    return this.errorCount;
  }

  /**
   * Calls `handler` for every event whose topic matches `pattern`, and returns the function
   * that unsubscribes it (calling it twice is harmless). Throws `invalid_request` for a
   * malformed pattern.
   */
  subscribe(pattern: string, handler: EventHandler, options: SubscribeOptions = {}): () => void {
    const matcher = compilePattern(pattern);
    const sub: Subscription = {
      ...matcher,
      id: this.nextId++,
      handler,
      filter: options.filter,
      once: options.once ?? false,
      active: true,
    };
    // Lists are replaced, never mutated, so a publish iterating one is never disturbed.
    if (sub.exact) this.exact.set(pattern, [...(this.exact.get(pattern) ?? NONE), sub]);
    else this.wildcards = [...this.wildcards, sub];
    this.count++;
    this.cache.clear();
    return () => this.unsubscribe(sub);
  }

  /** Like {@link subscribe}, for the first matching (and filtered-in) event only. */
  once(pattern: string, handler: EventHandler, options: SubscribeOptions = {}): () => void {
    return this.subscribe(pattern, handler, { ...options, once: true });
  }

  /**
   * Delivers `{ ...data, topic, at }` synchronously to every matching subscription, in the
   * order they subscribed, and returns how many received it. A subscription removed by an
   * earlier subscriber of the same event is skipped; one added meanwhile waits for the next.
   * Throws `invalid_request` for a malformed topic or non-object data.
   */
  publish(topic: string, data?: object): number {
    if (data !== undefined && (typeof data !== 'object' || data === null)) {
      throw new SwitchboardError('invalid_request', `event data for "${topic}" must be an object`);
    }
    const subs = this.cache.get(topic) ?? this.resolve(topic);
    if (subs.length === 0) return 0;
    // topic and at come last so that data cannot forge them.
    const event: BusEvent = { ...data, topic, at: this.now() };
    let delivered = 0;
    for (const sub of subs) {
      if (!sub.active) continue;
      try {
        if (sub.filter !== undefined && !sub.filter(event)) continue;
        if (sub.once) this.unsubscribe(sub);
        delivered++;
        const result = sub.handler(event) as unknown;
        if (typeof (result as PromiseLike<void> | undefined)?.then === 'function') {
          (result as PromiseLike<void>).then(undefined, (err: unknown) =>
            this.fail(err, event, sub),
          );
        }
      } catch (err) {
        this.fail(err, event, sub);
      }
    }
    return delivered;
  }

  /**
   * True when publishing to `topic` would reach at least one subscription (before filters).
   * Hot paths ask this before building an event; with no subscription at all it costs one
   * comparison (a malformed topic then answers `false` rather than throwing).
   */
  hasSubscribers(topic: string): boolean {
    if (this.count === 0) return false;
    return (this.cache.get(topic) ?? this.resolve(topic)).length > 0;
  }

  /** Removes every subscription. */
  clear(): void {
    for (const sub of this.wildcards) sub.active = false;
    for (const subs of this.exact.values()) for (const sub of subs) sub.active = false;
    this.exact.clear();
    this.wildcards = NONE;
    this.cache.clear();
    this.count = 0;
  }

  private unsubscribe(sub: Subscription): void {
    if (!sub.active) return;
    sub.active = false;
    this.count--;
    if (sub.exact) {
      const rest = this.exact.get(sub.pattern)!.filter((s) => s !== sub);
      if (rest.length === 0) this.exact.delete(sub.pattern);
      else this.exact.set(sub.pattern, rest);
    } else this.wildcards = this.wildcards.filter((s) => s !== sub);
    this.cache.clear();
  }

  /** The topic's matching subscriptions in subscription order (validating it), cached. */
  private resolve(topic: string): readonly Subscription[] {
    assertTopic(topic);
    const exact = this.exact.get(topic) ?? NONE;
    const wild = this.wildcards.filter((sub) => sub.matches(topic));
    let subs: readonly Subscription[];
    if (wild.length === 0) subs = exact;
    else if (exact.length === 0) subs = wild;
    else subs = [...exact, ...wild].sort((a, b) => a.id - b.id);
    // A crude bound: topics can be unbounded (ids in topics), the cache must not be.
    if (this.cache.size >= this.cacheSize) this.cache.clear();
    this.cache.set(topic, subs);
    return subs;
  }

  private fail(thrown: unknown, event: BusEvent, sub: Subscription): void {
    this.errorCount++;
    try {
      this.onError?.(toError(thrown), event, sub.pattern);
    } catch {
      // The error hook itself failed; the count above still records the subscriber's error,
      // and throwing here would break the very isolation the hook exists for.
    }
  }
}
