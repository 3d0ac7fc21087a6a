import { SwitchboardError } from '@switchboard/core';

/** The default body limit: 1 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

const EMPTY = new Uint8Array(0);

/** The error of a body over `limit` bytes (413). */
export function tooLarge(limit: number): SwitchboardError {
  return new SwitchboardError('payload_too_large', `body over the limit of ${limit} bytes`, {
    details: { maxBytes: limit },
  });
}

/** The error of a body the client stopped sending midway (400). */
export function unreadable(cause: unknown): SwitchboardError {
  return new SwitchboardError('invalid_request', 'the request body could not be read', {
    cause,
  });
}

/**
 * Reads a request body into one buffer, at most `limit` bytes. A `Content-Length` over the
 * limit fails at once, before a byte is read; a body without one (chunked) is counted while
 * it streams in and cancelled as soon as it goes over, so memory never exceeds the limit.
 *
 * @throws SwitchboardError `payload_too_large` over the limit; `invalid_request` when the
 * client aborts the body midway.
 */
export async function readBody(request: Request, limit: number): Promise<Uint8Array> {
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > limit) throw tooLarge(limit);
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
      if (total > limit) {
        // Not awaited: a client that keeps sending must not hold this answer back.
        reader.cancel().catch(() => undefined);
        throw tooLarge(limit);
      }
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
