import { SwitchboardError } from '../errors.js';

/** The largest progress value, in bytes of its JSON text: progress is a figure, not a result. */
export const MAX_PROGRESS_BYTES = 4096;

/** The largest chunk of a task's stream unless `streams.maxChunkBytes` says otherwise. */
export const DEFAULT_MAX_CHUNK_BYTES = 64 * 1024;

/**
 * The last progress a running task reported, as stored on its record: the value (a number,
 * or a small JSON value such as `{ step: 3, of: 10 }`) and when it was reported (epoch ms).
 */
export interface TaskProgress {
  value: unknown;
  at: number;
}

const encoder = new TextEncoder();

/** The UTF-8 length of `text`, counted only when it could be over `max` (the usual case is not). */
export function utf8Length(text: string, max: number): number {
  // A UTF-16 unit is at most three UTF-8 bytes, so a short text needs no encoding to know.
  return text.length * 3 <= max ? text.length : encoder.encode(text).byteLength;
}

/**
 * The JSON text of a value a task reports (`what` names it in errors: `progress`, `chunk`).
 *
 * @throws SwitchboardError `invalid_request` when the value has no JSON text (`undefined`, a
 * function, a BigInt, a cycle, a number that is not finite), `payload_too_large` when its JSON
 * text is longer than `maxBytes`.
 */
export function encodeReported(value: unknown, what: string, maxBytes: number): string {
  if (typeof value === 'number' && !Number.isFinite(value)) {
    throw new SwitchboardError('invalid_request', `${what}: ${value} is not a finite number`, {
      details: [{ path: what, message: 'not a finite number' }],
    });
  }
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new SwitchboardError('invalid_request', `${what}: not JSON (${why})`, {
      cause,
      details: [{ path: what, message: 'not JSON' }],
    });
  }
  if (text === undefined) {
    throw new SwitchboardError('invalid_request', `${what}: ${typeof value} is not JSON`, {
      details: [{ path: what, message: 'not JSON' }],
    });
  }
  const bytes = utf8Length(text, maxBytes);
  if (bytes > maxBytes) {
    throw new SwitchboardError(
      'payload_too_large',
      `${what}: ${bytes} bytes of JSON, over the limit of ${maxBytes}`,
      { details: { field: what, bytes, maxBytes } },
    );
  }
  return text;
}
