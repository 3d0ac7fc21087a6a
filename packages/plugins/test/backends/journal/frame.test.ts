import {
  crc32,
  FRAME_HEADER_BYTES,
  type FrameBody,
  FrameCodec,
} from '@switchboard/plugins/journal';
import { decode } from 'cbor-x';
import { describe, expect, it } from 'vitest';

const codec = new FrameCodec();
const bodies: FrameBody[] = [
  { op: 'enqueue', tasks: [{ id: 'a', payload: { url: 'https://example.org', n: 1.5 } }], now: 1 },
  { op: 'complete', id: 'a', result: ['ok', null, true], now: 2 },
  { op: 'cancel', id: 'b', now: 3 },
];

function join(frames: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
  let at = 0;
  for (const f of frames) {
    out.set(f, at);
    at += f.length;
  }
  return out;
}

function scanAll(bytes: Uint8Array) {
  const seen: { body: FrameBody; offset: number }[] = [];
  const result = codec.scan(bytes, (body, offset) => seen.push({ body, offset }));
  return { ...result, seen };
}

describe('FrameCodec', () => {
  const frames = bodies.map((b) => codec.encode(b));
  const log = join(frames);
  const offsets = [0, frames[0]!.length, frames[0]!.length + frames[1]!.length];

  it('writes [u32 length][u32 crc32][CBOR body] that any CBOR reader decodes', () => {
    const f = frames[1]!;
    const view = new DataView(f.buffer, f.byteOffset);
    expect(view.getUint32(0, true)).toBe(f.length - FRAME_HEADER_BYTES);
    expect(decode(f.subarray(FRAME_HEADER_BYTES))).toEqual(bodies[1]);
  });

  it('reads back every frame, with its offset', () => {
    const { end, defect, seen } = scanAll(log);
    expect(defect).toBeUndefined();
    expect(end).toBe(log.length);
    expect(seen).toEqual(bodies.map((body, i) => ({ body, offset: offsets[i] })));
  });

  it('stops at a torn last frame, at every cut point, with no frame after it', () => {
    for (let cut = offsets[2]! + 1; cut < log.length; cut++) {
      const { end, defect, seen } = scanAll(log.subarray(0, cut));
      expect(seen.map((s) => s.body)).toEqual(bodies.slice(0, 2));
      expect(end).toBe(offsets[2]);
      expect(defect).toMatchObject({ offset: offsets[2] });
      expect(defect?.resumesAt).toBeUndefined();
      expect(['partial header', 'partial frame']).toContain(defect?.reason);
    }
  });

  it('reports a flipped bit in the middle with where valid frames resume', () => {
    for (const at of [offsets[1]! + 2, offsets[1]! + 5, offsets[1]! + 12]) {
      const bad = log.slice();
      bad[at]! ^= 0x10;
      const { end, defect, seen } = scanAll(bad);
      expect(seen).toHaveLength(1);
      expect(end).toBe(offsets[1]);
      expect(defect).toMatchObject({ offset: offsets[1], resumesAt: offsets[2] });
    }
  });

  it('tells a bad checksum from a bad length, and refuses zero-filled space', () => {
    const flipped = log.slice();
    flipped[log.length - 1]! ^= 1;
    expect(scanAll(flipped).defect).toEqual({ offset: offsets[2], reason: 'bad checksum' });
    const zeros = join([log, new Uint8Array(64)]);
    expect(scanAll(zeros).defect).toEqual({ offset: log.length, reason: 'bad length' });
  });

  it('refuses a frame whose checksum holds over a body that is not an op', () => {
    // A CBOR array [1, 2] in a frame with the right length and checksum.
    const body = Uint8Array.from([0x82, 0x01, 0x02]);
    const forged = new Uint8Array(FRAME_HEADER_BYTES + body.length);
    const view = new DataView(forged.buffer);
    view.setUint32(0, body.length, true);
    view.setUint32(4, crc32(body), true);
    forged.set(body, FRAME_HEADER_BYTES);
    const { seen, defect } = scanAll(join([frames[0]!, forged]));
    expect(seen).toHaveLength(1);
    expect(defect).toEqual({ offset: offsets[1], reason: 'bad body' });
  });
});
