import type { TopicMatcher } from '@switchboard/core';
import type { EventSubscriber, StreamEvent } from './sse.js';

/** Bounds of an {@link EventLog}. */
export interface EventLogOptions {
  /** The most events kept for replay; default 1000. */
  maxEvents?: number;
  /** The most bytes of encoded events kept for replay; default 4 MiB. */
  maxBytes?: number;
  /** How long a topic pattern is still recorded after its last stream closed; default 10 s. */
  retentionMs?: number;
}

/** A live stream of the log: its patterns, and where its matching frames go. */
export interface LogReader {
  readonly matchers: readonly TopicMatcher[];
  deliver(frame: Uint8Array): void;
}

/** What a stream that reconnects gets: the frames after its id, and whether some are lost. */
export interface Replay {
  readonly frames: readonly Uint8Array[];
  /** Why events after the id may be missing: `unknown` id, or `expired` (not kept). */
  readonly missed?: 'unknown' | 'expired';
}

interface Entry {
  readonly n: number;
  readonly topic: string;
  readonly frame: Uint8Array;
}

interface Recording {
  readonly off: () => void;
  /** Events with a number above this one are recorded for this pattern. */
  readonly since: number;
  users: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

const encoder = new TextEncoder();

// Lease tokens are the agents' secrets: an observer of the event stream never sees one.
const hideSecrets = (key: string, value: unknown) => (key === 'leaseToken' ? undefined : value);

/**
 * The events of `GET /v1/events`, numbered and kept in a bounded ring for replay. An event's
 * id is `<instance>-<n>`: `instance` is new for each log (each server process), `n` grows.
 * A pattern is recorded from the first stream that asks for it until `retentionMs` after the
 * last one closed, so a client that reconnects within that time misses nothing the ring still
 * holds, while topics nobody follows are never built by the engine.
 */
export class EventLog {
  readonly instance = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  readonly #bus: EventSubscriber;
  readonly #maxEvents: number;
  readonly #maxBytes: number;
  readonly #retentionMs: number;
  readonly #ring: Entry[] = [];
  #head = 0;
  #bytes = 0;
  #seq = 0;
  /** The number of the newest event that left the ring (0 while none has). */
  #evicted = 0;
  readonly #recordings = new Map<string, Recording>();
  readonly #readers = new Set<LogReader>();
  #seen = new WeakSet<StreamEvent>();

  constructor(bus: EventSubscriber, options: EventLogOptions = {}) {
    this.#bus = bus;
    this.#maxEvents = Math.max(0, options.maxEvents ?? 1000);
    this.#maxBytes = Math.max(0, options.maxBytes ?? 4 * 1024 * 1024);
    this.#retentionMs = Math.max(0, options.retentionMs ?? 10_000);
  }

  /** Events kept for replay right now. */
  get size(): number {
    return this.#ring.length - this.#head;
  }

  /**
   * The frames after `lastEventId` that match `matchers`, in order. Call it and {@link add}
   * in the same turn, so that nothing falls between the replay and the live events.
   */
  replay(
    lastEventId: string,
    patterns: readonly string[],
    matchers: readonly TopicMatcher[],
  ): Replay {
    const n = this.#numberOf(lastEventId);
    if (n === undefined) return { frames: [], missed: 'unknown' };
    const frames: Uint8Array[] = [];
    for (let i = this.#head; i < this.#ring.length; i++) {
      const entry = this.#ring[i] as Entry;
      if (entry.n > n && matchers.some((m) => m.matches(entry.topic))) frames.push(entry.frame);
    }
    const covered =
      n >= this.#evicted && patterns.every((p) => (this.#recordings.get(p)?.since ?? n + 1) <= n);
    return covered ? { frames } : { frames, missed: 'expired' };
  }

  /** Starts delivering to `reader`, recording its patterns; the returned function stops it. */
  add(reader: LogReader): () => void {
    this.#readers.add(reader);
    const patterns = reader.matchers.map((m) => m.pattern);
    for (const pattern of patterns) this.#acquire(pattern);
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      this.#readers.delete(reader);
      for (const pattern of patterns) this.#release(pattern);
    };
  }

  /** Stops recording everything at once (at shutdown); the kept events stay. */
  stop(): void {
    for (const recording of this.#recordings.values()) {
      clearTimeout(recording.timer);
      recording.off();
    }
    this.#recordings.clear();
  }

  #numberOf(id: string): number | undefined {
    const dash = id.lastIndexOf('-');
    if (id.slice(0, dash) !== this.instance) return undefined;
    const text = id.slice(dash + 1);
    const n = Number(text);
    return /^\d{1,15}$/.test(text) && n <= this.#seq ? n : undefined;
  }

  #acquire(pattern: string): void {
    const recording = this.#recordings.get(pattern);
    if (recording !== undefined) {
      recording.users++;
      clearTimeout(recording.timer);
      recording.timer = undefined;
      return;
    }
    // A number is spent on each start, so an id from before a gap in the recording of this
    // pattern is never taken as covered by it.
    const since = ++this.#seq;
    const off = this.#bus.subscribe(pattern, (event) => this.#record(event));
    this.#recordings.set(pattern, { off, since, users: 1, timer: undefined });
  }

  #release(pattern: string): void {
    const recording = this.#recordings.get(pattern);
    if (recording === undefined || --recording.users > 0) return;
    const end = () => {
      recording.off();
      this.#recordings.delete(pattern);
    };
    if (this.#retentionMs === 0) {
      end();
      return;
    }
    recording.timer = setTimeout(end, this.#retentionMs);
    // A kept recording must never keep a process alive on its own.
    (recording.timer as { unref?: () => void }).unref?.();
  }

  #record(event: StreamEvent): void {
    // One publish reaches every recorded pattern it matches; it is numbered once.
    if (this.#seen.has(event)) return;
    this.#seen.add(event);
    let data: string;
    try {
      data = JSON.stringify(event, hideSecrets);
    } catch {
      // In-process publishers may put values JSON cannot carry (BigInt, cycles) in an event;
      // such an event is skipped for HTTP subscribers rather than breaking their streams.
      return;
    }
    const n = ++this.#seq;
    const frame = encoder.encode(
      `id: ${this.instance}-${n}\nevent: ${event.topic}\ndata: ${data}\n\n`,
    );
    this.#keep({ n, topic: event.topic, frame });
    for (const reader of this.#readers) {
      if (reader.matchers.some((m) => m.matches(event.topic))) reader.deliver(frame);
    }
  }

  #keep(entry: Entry): void {
    this.#ring.push(entry);
    this.#bytes += entry.frame.byteLength;
    while (this.size > this.#maxEvents || (this.#bytes > this.#maxBytes && this.size > 0)) {
      const old = this.#ring[this.#head] as Entry;
      this.#ring[this.#head++] = undefined as unknown as Entry;
      this.#bytes -= old.frame.byteLength;
      this.#evicted = old.n;
    }
    // The array is compacted once its dead half is large, so memory stays within the bounds.
    if (this.#head > 1024 && this.#head * 2 > this.#ring.length) {
      this.#ring.splice(0, this.#head);
      this.#head = 0;
    }
  }
}
