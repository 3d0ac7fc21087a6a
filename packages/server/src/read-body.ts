import { SwitchboardError } from '@switchboard/core';

/** The default body limit: 1 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

const EMPTY = new Uint8Array(0);

/**
 * How many bytes past the limit an oversized body is still read (and thrown away) before it
 * is answered. A server that answers and closes while the client is still sending makes the
 * kernel reset the connection, and a reset discards the answer the client had not read yet:
 * Node's fetch, curl and Python's urllib then see a network error instead of the 413. Past
 * this bound the connection is closed, so that a client sending gigabytes is not read forever.
 */
export const MAX_DISCARD_BYTES = 64 * 1024 * 1024;

// The 413s whose body was not read to its end: their connection cannot carry another request.
const unread = new WeakSet<SwitchboardError>();

/**
 * The error of a body over `limit` bytes (413). `closing`: the rest of the body was not read,
 * so the answer closes the connection (see {@link closesConnection}).
 */
export function tooLarge(limit: number, closing = false): SwitchboardError {
  const error = new SwitchboardError('payload_too_large', `body over the limit of ${limit} bytes`, {
    details: { maxBytes: limit },
  });
  if (closing) unread.add(error);
  return error;
}

/** Whether the answer to `error` must close the connection: a body left unread on the wire. */
export function closesConnection(error: unknown): boolean {
  return error instanceof SwitchboardError && unread.has(error);
}

/** Reads what is left of an oversized body and throws it away, up to {@link MAX_DISCARD_BYTES}. */
async function discard(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  limit: number,
  read: number,
): Promise<SwitchboardError> {
  let total = read;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return tooLarge(limit);
      total += value.byteLength;
      if (total - limit > MAX_DISCARD_BYTES) break;
    }
  } catch {
    // The client went away while sending: no one will read this answer anyway.
    return tooLarge(limit, true);
  }
  reader.cancel().catch(() => undefined);
  return tooLarge(limit, true);
}

/** The error of a body the client stopped sending midway (400). */
export function unreadable(cause: unknown): SwitchboardError {
  return new SwitchboardError('invalid_request', 'the request body could not be read', {
    cause,
  });
}

/**
 * Reads a request body into one buffer, at most `limit` bytes. A body over the limit (by its
 * `Content-Length`, or counted while a chunked body streams in) is read to its end and
 * thrown away, never kept, so that the client has sent it all when the 413 comes; a body more
 * than {@link MAX_DISCARD_BYTES} over is not read further, and its 413 closes the connection.
 *
 * @throws SwitchboardError `payload_too_large` over the limit; `invalid_request` when the
 * client aborts the body midway.
 */
export async function readBody(request: Request, limit: number): Promise<Uint8Array> {
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > limit) {
    if (Number(declared) - limit > MAX_DISCARD_BYTES || request.body === null) {
      throw tooLarge(limit, true);
    }
    throw await discard(request.body.getReader(), limit, 0);
  }
  if (declared !== null && /^\d+$/.test(declared)) {
    // HTTP framing reads exactly Content-Length bytes, so a declared length within the limit
    // bounds the body; arrayBuffer() is the runtimes' fast path (no web stream on Node).
    try {
      return new Uint8Array(await request.arrayBuffer());
    } catch (err) {
      throw unreadable(err);
    }
  }
  const stream = request.body;
  if (stream === null) return EMPTY;
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > limit) throw await discard(reader, limit, total);
      chunks.push(value);
    }
  } catch (err) {
    if (err instanceof SwitchboardError) throw err;
    throw unreadable(err);
  }
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const body = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}
