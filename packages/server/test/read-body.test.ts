import { describe, expect, it } from 'vitest';
import { readBody } from '../src/read-body.js';

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

  it('refuses a declared length over the limit before reading', async () => {
    const req = new Request('http://x/', {
      method: 'POST',
      body: 'x'.repeat(11),
      headers: { 'content-length': '11' },
    });
    await expect(readBody(req, 10)).rejects.toMatchObject({ code: 'payload_too_large' });
  });

  it('counts a chunked body while it streams and stops reading once over', async () => {
    const chunk = new Uint8Array(4);
    const { stream, pulled } = streamOf(Array.from({ length: 100 }, () => chunk));
    const req = new Request('http://x/', {
      method: 'POST',
      body: stream,
      duplex: 'half',
    } as RequestInit);
    await expect(readBody(req, 10)).rejects.toMatchObject({ code: 'payload_too_large' });
    expect(pulled()).toBeLessThan(10);
    const ok = streamOf([new Uint8Array([1, 2]), new Uint8Array([3])]);
    const req2 = new Request('http://x/', {
      method: 'POST',
      body: ok.stream,
      duplex: 'half',
    } as RequestInit);
    expect([...(await readBody(req2, 10))]).toEqual([1, 2, 3]);
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
