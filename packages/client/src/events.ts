import { type ErrorCode, type Priority, SwitchboardError, type TaskError } from '@switchboard/core';
import { type Backoff, classify, retryDelay, sleep } from './retry.js';

/** The fields of each built-in topic, as docs/http.md catalogues them. */
export interface EventFields {
  'task.queued': { taskId: string; capability: string; priority: Priority };
  'task.leased': { taskId: string; capability: string; agentId: string; attempt: number };
  'task.completed': { taskId: string; capability: string; agentId?: string; attempt: number };
  'task.failed': {
    taskId: string;
    capability: string;
    agentId?: string;
    error: TaskError;
    willRetry: boolean;
  };
  'task.dead': { taskId: string; capability: string; attempts: number; error?: TaskError };
  'task.cancelled': { taskId: string; capability: string };
  'task.progress': {
    taskId: string;
    capability: string;
    agentId?: string;
    attempt: number;
    value: unknown;
    reportedAt: number;
  };
  'task.streamed': { taskId: string; lastSeq: number };
  'agent.registered': { agentId: string; name: string; remote: boolean; capabilities: string[] };
  'agent.state': { agentId: string; from: string; to: string; reason?: string };
  'agent.failed': {
    agentId: string;
    name: string;
    reason: string;
    error: string;
    remote: boolean;
    action: { action: string; [key: string]: unknown };
    standby?: true;
    standbyId?: string;
  };
  'agent.promoted': { agentId: string; name: string; replaces: string };
  'agent.removed': { agentId: string; name: string; remote: boolean };
  'pool.scaled': { name: string; from: number; to: number; reason: string };
  'pool.updated': { name: string; phase: string; [key: string]: unknown };
  'schedule.fired': {
    scheduleId: string;
    /** The tick's instant, epoch ms. */
    tickAt: number;
    /** The task the tick submitted; absent when it was skipped. */
    taskId?: string;
    /** Fired again after the process that claimed the tick died before recording it. */
    recovered?: boolean;
    /** Why no task: the previous run unfinished, ticks missed (this and earlier), or a submit error. */
    skipped?: 'overlap' | 'missed' | 'error';
    /** With `skipped: 'overlap'`: the unfinished task. */
    runningTaskId?: string;
    /** With `skipped: 'error'`: the submit's error, and whether the tick is tried again. */
    error?: { message: string; code?: string };
    willRetry?: boolean;
  };
  /** The server's: a stream was ended because its client read too slowly. */
  'switchboard.dropped': { reason: string };
  /** The server's: events after `lastEventId` may be lost (`expired` or `unknown` id). */
  'switchboard.missed': { lastEventId: string; reason: 'expired' | 'unknown' };
}

/** An event of the stream: its topic, when it was published, its fields, and its id. */
export interface StreamEvent {
  topic: string;
  /** The publishing instant, epoch ms. */
  at: number;
  /** The server's id of the event, absent on the server's own notices. */
  eventId?: string;
  [key: string]: unknown;
}

/** An event of a built-in topic, with its fields typed. */
export type EventOf<K extends keyof EventFields> = EventFields[K] & {
  topic: K;
  at: number;
  eventId?: string;
};

/**
 * Narrows an event to a built-in topic's type.
 *
 * @example
 * ```ts
 * if (isEvent(event, 'task.failed') && !event.willRetry) alert(event.error.message)
 * ```
 */
export function isEvent<K extends keyof EventFields>(
  event: StreamEvent,
  topic: K,
): event is StreamEvent & EventOf<K> {
  return event.topic === topic;
}

/** What `client.events()` follows. */
export interface EventsRequest {
  /** Topic patterns (`*` one segment, `**` any); all events when absent or empty. */
  topics?: readonly string[];
  /** Ends the iteration. */
  signal?: AbortSignal;
  /** Resume after this event id (one this server process sent), as after a reconnect. */
  lastEventId?: string;
  /** The waits between reconnections; default 100 ms doubling up to 5 s. */
  backoff?: Backoff;
}

/** What the stream needs of the client. */
export interface EventsConnection {
  baseUrl: string;
  token?: string;
  fetch?: typeof fetch;
}

/** One message of a Server-Sent Events stream. */
export interface SseMessage {
  event: string;
  data: string;
  id?: string;
}

/**
 * The Server-Sent Events parser of the WHATWG HTML standard (§9.2.6), fed text as it comes:
 * lines end in CRLF, LF or CR; a line starting with `:` is a comment; `data` lines join
 * with LF; a message is dispatched at a blank line, unless it has no data. The last event id
 * is remembered across messages, as `EventSource` does.
 */
export class SseParser {
  #buffer = '';
  #event = '';
  #data: string[] = [];
  #lastId: string | undefined;
  #hasId = false;
  #afterCr = false;

  /** The id a reconnection should send: the last `id` field seen. */
  get lastEventId(): string | undefined {
    return this.#lastId;
  }

  /** Parses `text` and returns the messages it completes. */
  push(text: string): SseMessage[] {
    // A CR that ended the previous chunk ended its line; an LF right after it is its CRLF.
    let input = text;
    if (this.#afterCr && input.startsWith('\n')) input = input.slice(1);
    this.#afterCr = false;
    this.#buffer += input;
    const out: SseMessage[] = [];
    const ends = /\r\n|\r|\n/g;
    let start = 0;
    for (let found = ends.exec(this.#buffer); found !== null; found = ends.exec(this.#buffer)) {
      this.#line(this.#buffer.slice(start, found.index), out);
      start = found.index + found[0].length;
      this.#afterCr = found[0] === '\r' && start === this.#buffer.length;
    }
    this.#buffer = this.#buffer.slice(start);
    return out;
  }

  #line(line: string, out: SseMessage[]): void {
    if (line === '') {
      if (this.#data.length > 0) {
        const message: SseMessage = {
          event: this.#event || 'message',
          data: this.#data.join('\n'),
        };
        if (this.#hasId && this.#lastId !== undefined) message.id = this.#lastId;
        out.push(message);
      }
      this.#event = '';
      this.#data = [];
      this.#hasId = false;
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const name = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (name === 'event') this.#event = value;
    else if (name === 'data') this.#data.push(value);
    else if (name === 'id' && !value.includes('\0')) {
      this.#lastId = value;
      this.#hasId = true;
    }
  }
}

/** The error of a stream request the server refused, from its error body when it has one. */
export async function streamFailure(res: Response): Promise<SwitchboardError> {
  const text = await res.text().catch(() => '');
  let error: { code?: ErrorCode; message?: string; details?: unknown } | undefined;
  try {
    error = (JSON.parse(text) as { error?: typeof error }).error;
  } catch {
    // Not the server's JSON (a proxy's page while the server restarts): the status decides.
  }
  return new SwitchboardError(error?.code ?? 'internal', error?.message ?? `HTTP ${res.status}`, {
    details: { status: res.status, details: error?.details },
  });
}

/** How {@link sseMessages} connects and when it gives up. */
export interface SseRequest {
  /** Ends the iteration. */
  signal?: AbortSignal | undefined;
  /** The id to resume after on the first connection. */
  lastEventId?: string | undefined;
  /** The waits between reconnections; default 100 ms doubling up to 5 s. */
  backoff?: Backoff | undefined;
  /** Whether an error ends the iteration (thrown) rather than a reconnection. */
  fatal(error: unknown): boolean;
}

/**
 * The messages of a Server-Sent Events stream at `url`, over `fetch` and a `ReadableStream`
 * (Node 20, Bun, Deno, browsers), across connections: when one ends or fails, it connects
 * again with backoff, sending the last id it received as `Last-Event-ID`. Aborting `signal`,
 * or leaving the loop, ends it cleanly; an error `fatal` says so is thrown.
 */
export async function* sseMessages(
  connection: EventsConnection,
  url: string,
  request: SseRequest,
): AsyncGenerator<SseMessage, void, undefined> {
  const doFetch = connection.fetch ?? fetch;
  const backoff = { initialMs: 100, maxMs: 5000, ...request.backoff };
  // One controller for this iteration: the caller's signal, or leaving the loop, aborts it.
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  request.signal?.addEventListener('abort', onAbort, { once: true });
  if (request.signal?.aborted) stop.abort();
  let lastEventId = request.lastEventId;
  let attempt = 0;
  try {
    while (!stop.signal.aborted) {
      let error: unknown;
      try {
        const headers: Record<string, string> = { accept: 'text/event-stream' };
        if (connection.token !== undefined) headers.authorization = `Bearer ${connection.token}`;
        if (lastEventId !== undefined) headers['last-event-id'] = lastEventId;
        const res = await doFetch(url, { headers, signal: stop.signal });
        if (!res.ok) throw await streamFailure(res);
        const parser = new SseParser();
        const decoder = new TextDecoder();
        const reader = (res.body as ReadableStream<Uint8Array>).getReader();
        try {
          for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            for (const message of parser.push(decoder.decode(value, { stream: true }))) {
              if (message.id !== undefined) lastEventId = message.id;
              attempt = 0;
              yield message;
            }
          }
        } finally {
          reader.cancel().catch(() => undefined);
        }
      } catch (thrown) {
        error = thrown;
      }
      if (stop.signal.aborted) return;
      if (error !== undefined && request.fatal(error)) throw error;
      // The server ended the stream (draining, a slow reader) or the connection broke.
      await sleep(retryDelay(attempt++, backoff, error), stop.signal);
    }
  } finally {
    request.signal?.removeEventListener('abort', onAbort);
    stop.abort();
  }
}

/**
 * Follows `GET /v1/events` as an async iterator, over `fetch` and a `ReadableStream` (Node 20,
 * Bun, Deno, browsers). When the connection ends or fails it reconnects with backoff, sending
 * the last event id it received, so a reconnection within the server's replay buffer misses
 * nothing (the server sends a `switchboard.missed` event when it cannot tell). Aborting
 * `signal`, or leaving the loop, ends it cleanly; a bad token or bad topics throw.
 *
 * @example
 * ```ts
 * for await (const event of client.events({ topics: ['task.*'], signal })) {
 *   if (isEvent(event, 'task.dead')) console.warn(event.taskId, event.error?.message)
 * }
 * ```
 */
export async function* followEvents(
  connection: EventsConnection,
  request: EventsRequest = {},
): AsyncGenerator<StreamEvent, void, undefined> {
  const base = connection.baseUrl.replace(/\/+$/, '');
  const topics = request.topics ?? [];
  const url = `${base}/v1/events${topics.length === 0 ? '' : `?topics=${encodeURIComponent(topics.join(','))}`}`;
  const messages = sseMessages(connection, url, {
    signal: request.signal,
    lastEventId: request.lastEventId,
    backoff: request.backoff,
    fatal: (error) => classify(error) === 'fatal',
  });
  for await (const message of messages) {
    // A message that is not JSON is not the server's: skipped, not fatal.
    let event: StreamEvent;
    try {
      event = JSON.parse(message.data) as StreamEvent;
    } catch {
      continue;
    }
    if (message.id !== undefined) event.eventId = message.id;
    yield event;
  }
}
