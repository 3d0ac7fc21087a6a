import { describe, expect, it } from 'vitest';
import { closesConnection, MAX_DISCARD_BYTES, readBody } from '../src/read-body.js';

const streamOf = (chunks: Uint8Array[]) => {
  let pulled = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(c) {
      const next = chunks[pulled++];
      if (next === undefined) c.close();
      else c.enqueue(next);
    },
  });
  return { stream, pulled: () => pulled };
};

describe('readBody', () => {
  it('reads a body with a length, or an empty one', async () => {
    const req = new Request('http://x/', { method: 'POST', body: 'hello' });
    expect(new TextDecoder().decode(await readBody(req, 10))).toBe('hello');
    expect((await readBody(new Request('http://x/'), 10)).byteLength).toBe(0);
  });

  it('refuses a declared length over the limit, reading the body to its end first', async () => {
    const { stream, pulled } = streamOf(Array.from({ length: 5 }, () => new Uint8Array(4)));
    const req = new Request('http://x/', {
      method: 'POST',
      body: stream,
      duplex: 'half',
      headers: { 'content-length': '20' },
    } as RequestInit);
    const error = await readBody(req, 10).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'payload_too_large' });
    // Read to its end (6 pulls: 5 chunks, then the close): the connection stays usable.
    expect(pulled()).toBe(6);
    expect(closesConnection(error)).toBe(false);
    // Declared past the discard bound: refused at once, unread, and the connection closes.
    const huge = new Request('http://x/', {
      method: 'POST',
      body: 'x',
      headers: { 'content-length': String(10 + MAX_DISCARD_BYTES + 1) },
    });
    const refused = await readBody(huge, 10).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'payload_too_large' });
    expect(closesConnection(refused)).toBe(true);
  });

  it('counts a chunked body while it streams, keeps nothing past the limit, and reads it to its end', async () => {
    const chunk = new Uint8Array(4);
    const { stream, pulled } = streamOf(Array.from({ length: 100 }, () => chunk));
    const req = new Request('http://x/', {
      method: 'POST',
      body: stream,
      duplex: 'half',
    } as RequestInit);
    const error = await readBody(req, 10).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'payload_too_large' });
    expect(pulled()).toBe(101);
    expect(closesConnection(error)).toBe(false);
    const ok = streamOf([new Uint8Array([1, 2]), new Uint8Array([3])]);
    const req2 = new Request('http://x/', {
      method: 'POST',
      body: ok.stream,
      duplex: 'half',
    } as RequestInit);
    expect([...(await readBody(req2, 10))]).toEqual([1, 2, 3]);
  });

  it('stops reading an oversized body past the discard bound, and closes the connection', async () => {
    const chunk = new Uint8Array(1024 * 1024);
    let pulled = 0;
    let cancelled = false;
    const endless = new ReadableStream<Uint8Array>({
      pull(c) {
        pulled++;
        c.enqueue(chunk);
      },
      cancel() {
        cancelled = true;
      },
    });
    const req = new Request('http://x/', {
      method: 'POST',
      body: endless,
      duplex: 'half',
    } as RequestInit);
    const error = await readBody(req, 10).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'payload_too_large' });
    expect(closesConnection(error)).toBe(true);
    expect(cancelled).toBe(true);
    expect(pulled * chunk.length).toBeLessThan(MAX_DISCARD_BYTES + 4 * chunk.length);
  });

  it('turns a broken body stream into invalid_request', async () => {
    const stream = new ReadableStream({ pull: (c) => c.error(new Error('reset')) });
    const req = new Request('http://x/', {
      method: 'POST',
      body: stream,
      duplex: 'half',
    } as RequestInit);
    await expect(readBody(req, 10)).rejects.toMatchObject({ code: 'invalid_request' });
  });
});
