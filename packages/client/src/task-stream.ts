import type { TaskView } from '@switchboard/core';
import { type EventsConnection, sseMessages } from './events.js';
import { type Backoff, classify } from './retry.js';

/**
 * What `client.stream(taskId)` yields, in order: the chunks of the task's partial output
 * (`seq` 1 for the first chunk the task streamed), a `dropped` marker where chunks not yet
 * read were no longer kept by the server (how many), and one `end` once the task is terminal.
 */
export type TaskStreamItem =
  | { type: 'chunk'; seq: number; data: unknown; at: number }
  | { type: 'dropped'; count: number }
  | { type: 'end'; status: TaskView['status'] };

/** What `client.stream()` follows. */
export interface TaskStreamRequest {
  /** Ends the iteration (without an `end` item). */
  signal?: AbortSignal;
  /** Resume after this chunk's seq (0, the default, for the start). */
  lastEventId?: number;
  /** The waits between reconnections; default 100 ms doubling up to 5 s. */
  backoff?: Backoff;
}

/**
 * Follows `GET /v1/tasks/{id}/stream` as an async iterator, over `fetch` and a
 * `ReadableStream` (Node 20, Bun, Deno, browsers), until the `end` item. When the connection
 * ends early or fails, it reconnects with backoff, sending the seq of the last chunk it
 * received as `Last-Event-ID`, so it misses nothing the server still keeps (and is told with
 * a `dropped` item when it does). An unknown task (404) or a bad token throws.
 *
 * @example
 * ```ts
 * for await (const item of client.stream(id)) {
 *   if (item.type === 'chunk') process.stdout.write(String(item.data))
 * }
 * ```
 */
export async function* followTaskStream(
  connection: EventsConnection,
  taskId: string,
  request: TaskStreamRequest = {},
): AsyncGenerator<TaskStreamItem, void, undefined> {
  const base = connection.baseUrl.replace(/\/+$/, '');
  const url = `${base}/v1/tasks/${encodeURIComponent(taskId)}/stream`;
  const after = request.lastEventId ?? 0;
  // A chunk's event id is its seq, so the messages resume after the last chunk received.
  const messages = sseMessages(connection, url, {
    signal: request.signal,
    lastEventId: after > 0 ? String(after) : undefined,
    backoff: request.backoff,
    // An unknown task (404) or a refused token will not mend by reconnecting.
    fatal: (error) => classify(error) !== 'transient',
  });
  for await (const message of messages) {
    const item = itemOf(message.event, message.data);
    if (item === undefined) continue;
    yield item;
    if (item.type === 'end') return;
  }
}

/** The item of a stream's message; `undefined` for one that is not the server's. */
function itemOf(event: string, data: string): TaskStreamItem | undefined {
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(data) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (event === 'chunk' && typeof body.seq === 'number') {
    return { type: 'chunk', seq: body.seq, data: body.data, at: Number(body.at) };
  }
  if (event === 'dropped' && typeof body.count === 'number') {
    return { type: 'dropped', count: body.count };
  }
  if (event === 'end' && typeof body.status === 'string') {
    return { type: 'end', status: body.status as TaskView['status'] };
  }
  return undefined;
}
