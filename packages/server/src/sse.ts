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
}

const encoder = new TextEncoder();

// Lease tokens are the agents' secrets: an observer of the event stream never sees one.
const hideSecrets = (key: string, value: unknown) => (key === 'leaseToken' ? undefined : value);

function frame(event: StreamEvent): Uint8Array | undefined {
  let data: string;
  try {
    data = JSON.stringify(event, hideSecrets);
  } catch {
    // In-process publishers may put values JSON cannot carry (BigInt, cycles) in an event;
    // such an event is skipped for HTTP subscribers rather than breaking their stream.
    return undefined;
  }
  return encoder.encode(`event: ${event.topic}\ndata: ${data}\n\n`);
}

/**
 * The Server-Sent Events streams of `GET /v1/events`. Each client has a bounded queue
 * (the stream's own, with a count strategy): when it is full, the client reads slower than
 * events arrive, so it gets a last `switchboard.dropped` event and its stream ends. Memory per
 * client is bounded by `maxBufferedEvents` whatever the client does.
 *
 * @example
 * ```ts
 * const streams = new EventStreams(sb.events, { maxBufferedEvents: 256 })
 * app.get('/v1/events', (c) => streams.open(['task.*'], c.req.raw.signal))
 * ```
 */
export class EventStreams {
  readonly #bus: EventSubscriber;
  readonly #maxBuffered: number;
  readonly #pingMs: number;
  readonly #open = new Set<() => void>();
  #dropped = 0;

  constructor(bus: EventSubscriber, options: EventStreamOptions = {}) {
    this.#bus = bus;
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

  /** Ends every open stream (at shutdown, so that the server can close). */
  closeAll(): void {
    for (const close of [...this.#open]) close();
  }

  /**
   * Opens a stream of the events matching any of `patterns` (each event once). The stream
   * starts with a comment line, so a client knows it is subscribed before the first event.
   */
  open(patterns: readonly string[], signal?: AbortSignal): Response {
    const unsubscribes: (() => void)[] = [];
    let ping: ReturnType<typeof setInterval> | undefined;
    let closed = false;
    const cleanup = () => {
      if (closed) return false;
      closed = true;
      for (const off of unsubscribes) off();
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
    const seen = new WeakSet<StreamEvent>();
    const deliver = (event: StreamEvent) => {
      // One publish reaches every matching pattern; the client gets it once.
      if (closed || seen.has(event)) return;
      seen.add(event);
      if ((controller.desiredSize ?? 0) <= 0) {
        this.#dropped++;
        const reason = { topic: 'switchboard.dropped', at: Date.now(), reason: 'slow consumer' };
        controller.enqueue(frame(reason) as Uint8Array);
        close();
        return;
      }
      const bytes = frame(event);
      if (bytes !== undefined) controller.enqueue(bytes);
    };
    const list = patterns.length === 0 ? ['**'] : patterns;
    for (const pattern of list) unsubscribes.push(this.#bus.subscribe(pattern, deliver));
    controller.enqueue(encoder.encode(': subscribed\n\n'));
    ping = setInterval(() => {
      if ((controller.desiredSize ?? 0) > 0) controller.enqueue(encoder.encode(': ping\n\n'));
    }, this.#pingMs);
    // A stream must never keep a process alive on its own (Node, Bun and Deno all have unref).
    (ping as { unref?: () => void }).unref?.();
    this.#open.add(close);
    signal?.addEventListener('abort', close, { once: true });
    return new Response(stream, {
      status: 200,
      headers: {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      },
    });
  }
}
