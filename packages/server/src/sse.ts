import { compilePattern } from '@switchboard/core';
import { EventLog, type Replay } from './event-log.js';

/** An event as the engine's bus delivers it. */
export interface StreamEvent {
  topic: string;
  at: number;
  [key: string]: unknown;
}

/** The part of the engine's event bus a stream needs. */
export interface EventSubscriber {
  subscribe(pattern: string, handler: (event: StreamEvent) => void): () => void;
}

/** Options of {@link EventStreams}. */
export interface EventStreamOptions {
  /** Events buffered per client before it counts as too slow and is dropped; default 1024. */
  maxBufferedEvents?: number;
  /** A comment line this often keeps idle connections (and proxies) open; default 15 s. */
  pingIntervalMs?: number;
  /** The most recent events kept for a reconnecting client (`Last-Event-ID`); default 1000. */
  replayEvents?: number;
  /** The most bytes of recent events kept for replay; default 4 MiB. */
  replayBytes?: number;
  /** How long a topic is still recorded for replay after its last stream closed; default 10 s. */
  replayRetentionMs?: number;
}

const encoder = new TextEncoder();

/** The headers of a Server-Sent Events answer: never cached nor buffered by a proxy. */
export const SSE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
});

// A notice of the server's own: it has no id, so a client's last event id stays the last
// event's it really received.
function notice(topic: string, fields: Record<string, unknown>): Uint8Array {
  const data = JSON.stringify({ ...fields, topic, at: Date.now() });
  return encoder.encode(`event: ${topic}\ndata: ${data}\n\n`);
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((sum, c) => sum + c.byteLength, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

/**
 * The Server-Sent Events streams of `GET /v1/events`. Each client has a bounded queue
 * (the stream's own, with a count strategy): when it is full, the client reads slower than
 * events arrive, so it gets a last `switchboard.dropped` event and its stream ends. Memory per
 * client is bounded by `maxBufferedEvents` whatever the client does. Every event carries an
 * id, and a client that reconnects with the last one it received gets what it missed from
 * the {@link EventLog}'s bounded ring first.
 *
 * @example
 * ```ts
 * const streams = new EventStreams(sb.events, { maxBufferedEvents: 256 })
 * app.get('/v1/events', (c) => streams.open(['task.*'], c.req.raw.signal, c.req.header('last-event-id')))
 * ```
 */
export class EventStreams {
  readonly #log: EventLog;
  readonly #maxBuffered: number;
  readonly #pingMs: number;
  readonly #open = new Set<() => void>();
  #dropped = 0;

  constructor(bus: EventSubscriber, options: EventStreamOptions = {}) {
    this.#log = new EventLog(bus, {
      ...(options.replayEvents === undefined ? {} : { maxEvents: options.replayEvents }),
      ...(options.replayBytes === undefined ? {} : { maxBytes: options.replayBytes }),
      ...(options.replayRetentionMs === undefined
        ? {}
        : { retentionMs: options.replayRetentionMs }),
    });
    this.#maxBuffered = Math.max(1, options.maxBufferedEvents ?? 1024);
    this.#pingMs = options.pingIntervalMs ?? 15_000;
  }

  /** Open streams right now. */
  get clients(): number {
    return this.#open.size;
  }

  /** Clients dropped for reading too slowly, since start. */
  get dropped(): number {
    return this.#dropped;
  }

  /** How often an idle stream gets a comment line. */
  get pingMs(): number {
    return this.#pingMs;
  }

  /**
   * Registers another stream to end with these at shutdown (a task's stream of partial
   * output); returns the function that forgets it once it has ended on its own.
   */
  hold(close: () => void): () => void {
    this.#open.add(close);
    return () => this.#open.delete(close);
  }

  /** Ends every open stream and stops recording (at shutdown, so that the server can close). */
  closeAll(): void {
    for (const close of [...this.#open]) close();
    this.#log.stop();
  }

  /**
   * Opens a stream of the events matching any of `patterns` (each event once). The stream
   * starts with a comment line, so a client knows it is subscribed before the first event.
   * With `lastEventId` (a reconnect), the kept events after it come first, preceded by a
   * `switchboard.missed` event when some may be lost (an id of another server process, or
   * older than what is kept).
   */
  open(patterns: readonly string[], signal?: AbortSignal, lastEventId?: string): Response {
    let stopReading: (() => void) | undefined;
    let ping: ReturnType<typeof setInterval> | undefined;
    let closed = false;
    const cleanup = () => {
      if (closed) return false;
      closed = true;
      stopReading?.();
      if (ping !== undefined) clearInterval(ping);
      this.#open.delete(close);
      signal?.removeEventListener('abort', close);
      return true;
    };
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    const close = () => {
      if (!cleanup()) return;
      try {
        controller.close();
      } catch {
        // Already closed or errored by the runtime after a disconnect: nothing left to end.
      }
    };
    const stream = new ReadableStream<Uint8Array>(
      {
        start: (c) => {
          controller = c;
        },
        cancel: () => {
          cleanup();
        },
      },
      new CountQueuingStrategy({ highWaterMark: this.#maxBuffered }),
    );
    const deliver = (frame: Uint8Array) => {
      if (closed) return;
      if ((controller.desiredSize ?? 0) <= 0) {
        this.#dropped++;
        controller.enqueue(notice('switchboard.dropped', { reason: 'slow consumer' }));
        close();
        return;
      }
      controller.enqueue(frame);
    };
    const list = patterns.length === 0 ? ['**'] : [...new Set(patterns)];
    const matchers = list.map((pattern) => compilePattern(pattern));
    controller.enqueue(encoder.encode(': subscribed\n\n'));
    if (lastEventId !== undefined) {
      // The replay and the subscription below happen in one turn: no event falls between.
      const replay: Replay = this.#log.replay(lastEventId, list, matchers);
      const chunks = [...replay.frames];
      if (replay.missed !== undefined) {
        chunks.unshift(notice('switchboard.missed', { lastEventId, reason: replay.missed }));
      }
      // One chunk, so that a long replay counts once against the client's buffer.
      if (chunks.length > 0) controller.enqueue(concat(chunks));
    }
    stopReading = this.#log.add({ matchers, deliver });
    ping = setInterval(() => {
      if ((controller.desiredSize ?? 0) > 0) controller.enqueue(encoder.encode(': ping\n\n'));
    }, this.#pingMs);
    // A stream must never keep a process alive on its own (Node, Bun and Deno all have unref).
    (ping as { unref?: () => void }).unref?.();
    this.#open.add(close);
    signal?.addEventListener('abort', close, { once: true });
    return new Response(stream, { status: 200, headers: SSE_HEADERS });
  }
}
