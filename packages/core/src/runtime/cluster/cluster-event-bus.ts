import {
  EventBus,
  type EventBusOptions,
  type EventHandler,
  type SubscribeOptions,
} from '../../events/event-bus.js';
import { compilePattern, type TopicMatcher } from '../../events/topic-pattern.js';

/** Topics that end a task: other processes may hold someone awaiting it. */
const TERMINAL = new Set(['task.completed', 'task.dead', 'task.cancelled']);

/** Where a {@link ClusterEventBus} sends what other processes need to hear. */
export interface ClusterBusSink {
  /** An event some other process listens to. */
  forward(topic: string, data: Record<string, unknown>): void;
  /** A task ended here. */
  ended(taskId: string): void;
  /** The set of patterns subscribed here changed. */
  interestChanged(): void;
}

/**
 * The event bus of a Switchboard whose backend spans processes. Events published here reach
 * local subscribers as always, and go to the other processes only when one of them has a
 * subscriber for the topic (each process announces its patterns), so event data is still
 * built only when someone, somewhere, listens. Events from other processes arrive through
 * {@link deliverRemote}: local subscribers get them, nothing forwards them again.
 */
export class ClusterEventBus extends EventBus {
  #sink: ClusterBusSink | undefined;
  readonly #patterns = new Map<string, number>();
  #peers: readonly TopicMatcher[] = [];
  readonly #peerTopics = new Map<string, boolean>();
  #muted = 0;

  constructor(options: EventBusOptions = {}) {
    super(options);
  }

  /** Starts forwarding to `sink` (`undefined` stops). */
  attach(sink: ClusterBusSink | undefined): void {
    this.#sink = sink;
  }

  override subscribe(
    pattern: string,
    handler: EventHandler,
    options: SubscribeOptions = {},
  ): () => void {
    let active = true;
    // `once` is done here, so that the pattern count also drops when the bus ends it.
    const deliver: EventHandler = options.once
      ? (event) => {
          off();
          return handler(event);
        }
      : handler;
    const inner =
      options.filter === undefined
        ? super.subscribe(pattern, deliver)
        : super.subscribe(pattern, deliver, { filter: options.filter });
    const count = this.#patterns.get(pattern) ?? 0;
    this.#patterns.set(pattern, count + 1);
    if (count === 0) this.#sink?.interestChanged();
    const off = () => {
      if (!active) return;
      active = false;
      inner();
      const left = (this.#patterns.get(pattern) ?? 1) - 1;
      if (left > 0) this.#patterns.set(pattern, left);
      else {
        this.#patterns.delete(pattern);
        this.#sink?.interestChanged();
      }
    };
    return off;
  }

  /** The patterns subscribed on this process. */
  patterns(): string[] {
    return [...this.#patterns.keys()];
  }

  /** Replaces the union of the other processes' patterns (malformed ones are ignored). */
  setPeerPatterns(patterns: Iterable<string>): void {
    const matchers: TopicMatcher[] = [];
    for (const pattern of new Set(patterns)) {
      try {
        matchers.push(compilePattern(pattern));
      } catch {
        // A peer running another version may subscribe to what this one cannot parse.
      }
    }
    this.#peers = matchers;
    this.#peerTopics.clear();
  }

  override hasSubscribers(topic: string): boolean {
    if (this.#muted > 0) return false;
    if (super.hasSubscribers(topic)) return true;
    if (this.#sink === undefined) return false;
    return TERMINAL.has(topic) || this.#peerListens(topic);
  }

  override publish(topic: string, data?: object): number {
    if (this.#muted > 0) return 0;
    const delivered = super.publish(topic, data);
    const sink = this.#sink;
    if (sink !== undefined) {
      const fields = (data ?? {}) as Record<string, unknown>;
      if (TERMINAL.has(topic) && typeof fields.taskId === 'string') sink.ended(fields.taskId);
      if (this.#peerListens(topic)) sink.forward(topic, fields);
    }
    return delivered;
  }

  /** Delivers an event of another process to local subscribers only. */
  deliverRemote(topic: string, data: Record<string, unknown>): number {
    if (this.#muted > 0) return 0;
    return super.publish(topic, data);
  }

  /** Runs `fn` with every event suppressed (a change another process already announced). */
  quietly<T>(fn: () => T): T {
    this.#muted++;
    try {
      return fn();
    } finally {
      this.#muted--;
    }
  }

  #peerListens(topic: string): boolean {
    if (this.#peers.length === 0) return false;
    let listens = this.#peerTopics.get(topic);
    if (listens === undefined) {
      listens = this.#peers.some((m) => m.matches(topic));
      // Topics may carry ids: the cache must stay bounded.
      if (this.#peerTopics.size >= 1024) this.#peerTopics.clear();
      this.#peerTopics.set(topic, listens);
    }
    return listens;
  }
}
