import { Encoder } from 'cbor-x/encode';
import { crc32 } from './crc32.js';

/** Bytes before a frame's body: its length and its CRC-32, both u32 little-endian. */
export const FRAME_HEADER_BYTES = 8;

/** The largest body a frame may carry; a larger length field can only be corruption. */
export const MAX_FRAME_BODY_BYTES = 256 * 1024 * 1024;

/** One decoded frame body: `{ op, ...args, now }`. */
export interface FrameBody {
  op: string;
  [key: string]: unknown;
}

/** Where and why a scan stopped before the end of its bytes. */
export interface FrameDefect {
  /** Byte offset of the first frame that is not valid. */
  offset: number;
  reason: 'partial header' | 'bad length' | 'partial frame' | 'bad checksum' | 'bad body';
  /** Offset of the next valid frame after the defect, if any: then it is not a torn tail. */
  resumesAt?: number;
}

/**
 * Encodes and decodes journal frames: `[u32 length][u32 crc32(body)][CBOR body]`, both
 * integers little-endian. The CBOR is plain maps (`cbor-x` with `useRecords: false`), so
 * any CBOR reader can inspect a journal.
 */
export class FrameCodec {
  private readonly cbor = new Encoder({ useRecords: false, mapsAsObjects: true });

  /** The whole frame of `body`, ready to append. */
  encode(body: FrameBody): Uint8Array {
    const payload = this.cbor.encode(body);
    const frame = new Uint8Array(FRAME_HEADER_BYTES + payload.length);
    const view = new DataView(frame.buffer);
    view.setUint32(0, payload.length, true);
    view.setUint32(4, crc32(payload), true);
    // cbor-x hands out views of its own reusable buffer: copy before the next encode.
    frame.set(payload, FRAME_HEADER_BYTES);
    return frame;
  }

  /**
   * Calls `onFrame` for each valid frame of `bytes` in order, and returns where the valid
   * frames end and, when they end early, the defect found there. A defect followed by a
   * valid frame (`resumesAt`) is corruption in the middle; otherwise it is a torn tail.
   */
  scan(
    bytes: Uint8Array,
    onFrame: (body: FrameBody, offset: number) => void,
  ): { end: number; defect?: FrameDefect } {
    let offset = 0;
    while (offset < bytes.length) {
      const reason = frameProblem(bytes, offset);
      if (reason !== undefined) return { end: offset, defect: defectAt(bytes, offset, reason) };
      const length = readU32(bytes, offset);
      const start = offset + FRAME_HEADER_BYTES;
      let body: unknown;
      try {
        body = this.cbor.decode(bytes.subarray(start, start + length));
      } catch {
        // A checksum that matches a body cbor-x cannot read: written by a broken or newer
        // writer. Reported like any other defect, with its offset.
        return { end: offset, defect: defectAt(bytes, offset, 'bad body') };
      }
      if (!isBody(body)) return { end: offset, defect: defectAt(bytes, offset, 'bad body') };
      onFrame(body, offset);
      offset = start + length;
    }
    return { end: offset };
  }
}

/** Why the frame at `offset` is not valid, or `undefined` when it is. */
function frameProblem(bytes: Uint8Array, offset: number): FrameDefect['reason'] | undefined {
  if (bytes.length - offset < FRAME_HEADER_BYTES) return 'partial header';
  const length = readU32(bytes, offset);
  // Bodies are never empty, so a zero-filled tail (preallocated blocks) is not a frame.
  if (length === 0 || length > MAX_FRAME_BODY_BYTES) return 'bad length';
  const start = offset + FRAME_HEADER_BYTES;
  if (start + length > bytes.length) return 'partial frame';
  if (crc32(bytes, start, start + length) !== readU32(bytes, offset + 4)) return 'bad checksum';
  return undefined;
}

function defectAt(bytes: Uint8Array, offset: number, reason: FrameDefect['reason']): FrameDefect {
  const resumesAt = nextValidFrame(bytes, offset + 1);
  return resumesAt === undefined ? { offset, reason } : { offset, reason, resumesAt };
}

/**
 * The first offset at or after `from` where a valid frame starts. Every body is a CBOR map
 * (major type 5), which rules out most offsets before any checksum is computed.
 */
function nextValidFrame(bytes: Uint8Array, from: number): number | undefined {
  for (let at = from; at + FRAME_HEADER_BYTES < bytes.length; at++) {
    const lead = bytes[at + FRAME_HEADER_BYTES] as number;
    if (lead >> 5 !== 5) continue;
    if (frameProblem(bytes, at) === undefined) return at;
  }
  return undefined;
}

function readU32(bytes: Uint8Array, offset: number): number {
  return (
    ((bytes[offset] as number) |
      ((bytes[offset + 1] as number) << 8) |
      ((bytes[offset + 2] as number) << 16) |
      ((bytes[offset + 3] as number) << 24)) >>>
    0
  );
}

function isBody(value: unknown): value is FrameBody {
  return typeof value === 'object' && value !== null && typeof (value as FrameBody).op === 'string';
}
