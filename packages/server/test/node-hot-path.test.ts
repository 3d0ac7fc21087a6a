import { connect } from 'node:net';
import { createSwitchboard, type Switchboard } from '@switchboard/core';
import { decode, encode } from 'cbor-x';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { type AppOptions, createApp } from '../src/app.js';
import { Lifecycle } from '../src/lifecycle.js';
import { nodeRuntime } from '../src/node.js';
import type { Listening } from '../src/runtime.js';

interface Served {
  port: number;
  sb: Switchboard;
  lifecycle: Lifecycle;
}
const open: { sb: Switchboard; server: Listening }[] = [];

type State = 'starting' | 'ready' | 'draining';

/** One app on Node, with its submit routes served directly (`hot`) or through Hono. */
async function serve(
  hot: boolean,
  options: AppOptions = {},
  state: State = 'ready',
): Promise<Served> {
  const sb = createSwitchboard();
  await sb.start();
  const lifecycle = new Lifecycle(state === 'starting' ? 'starting' : 'ready');
  if (state === 'draining') lifecycle.drain();
  const app = createApp(sb, { ...options, lifecycle });
  const server = await nodeRuntime.serve(app.fetch, {
    port: 0,
    host: '127.0.0.1',
    ...(hot ? { hot: app.hot } : {}),
  });
  open.push({ sb, server });
  return { port: server.port, sb, lifecycle };
}

afterEach(async () => {
  for (const { sb, server } of open.splice(0)) {
    server.forceClose();
    await server.close();
    await sb.shutdown({ drain: false });
  }
});

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/** Ids and instants differ between two engines: replaced by placeholders. */
function normalize(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalize);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === 'id' && typeof v === 'string') out[k] = '<id>';
    else if (k === 'ids' && Array.isArray(v)) out[k] = v.map(() => '<id>');
    else if ((k.endsWith('At') || k === 'retryAfterMs') && typeof v === 'number') out[k] = 0;
    else out[k] = normalize(v);
  }
  return out;
}

/** Sends raw request bytes (head lines, then the body) and reads the answer up to the close. */
function raw(port: number, head: string[], body: Uint8Array | string = ''): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', reject);
    socket.on('end', () => {
      const all = Buffer.concat(chunks);
      const split = all.indexOf('\r\n\r\n');
      const [statusLine = '', ...lines] = all.subarray(0, split).toString('latin1').split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const at = line.indexOf(':');
        headers[line.slice(0, at).toLowerCase()] = line.slice(at + 1).trim();
      }
      delete headers.date;
      const bytes = all.subarray(split + 4);
      const type = headers['content-type'] ?? '';
      const decoded =
        bytes.length === 0
          ? undefined
          : type.includes('cbor')
            ? decode(bytes)
            : JSON.parse(bytes.toString('utf8'));
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: normalize(decoded) });
    });
    // No half-close: Node drops a request whose client sent FIN before the answer was ready.
    // `connection: close` has the server close once it has answered.
    socket.write(`${head.join('\r\n')}\r\nconnection: close\r\n\r\n`);
    socket.write(body);
  });
}

/** The raw answer's JSON body with its id kept (raw() replaces ids with placeholders). */
async function fetchJson(
  port: number,
  request: { head: string[]; body: string | Uint8Array },
): Promise<{ id: string }> {
  const socket = connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  socket.on('data', (c) => chunks.push(c));
  await new Promise((resolve) => socket.on('connect', resolve));
  socket.write(`${request.head.join('\r\n')}\r\nconnection: close\r\n\r\n`);
  socket.write(request.body);
  await new Promise((resolve) => socket.on('end', resolve));
  const all = Buffer.concat(chunks).toString('utf8');
  return JSON.parse(all.slice(all.indexOf('\r\n\r\n') + 4));
}

/** A request with a declared length, and extra header lines. */
const post = (path: string, body: Uint8Array | string, extra: string[] = []) => ({
  head: [
    `POST ${path} HTTP/1.1`,
    'host: 127.0.0.1',
    ...extra,
    `content-length: ${Buffer.byteLength(body)}`,
  ],
  body,
});

const task = JSON.stringify({ capability: 'echo', payload: { n: 1 } });
const json = 'content-type: application/json';
const CASES = [
  post('/v1/tasks', task, [json]),
  post('/v1/tasks', task),
  post('/v1/tasks', task, [json, 'accept: application/cbor']),
  post('/v1/tasks', task, [json, 'accept: application/json;q=0.5, application/cbor']),
  post('/v1/tasks', JSON.stringify({ capability: 'echo', idempotencyKey: 'k' }), [json]),
  post('/v1/tasks', JSON.stringify({ capability: 'echo', idempotencyKey: 'k' }), [json]),
  post('/v1/tasks', JSON.stringify({ capability: '' }), [json]),
  post('/v1/tasks', JSON.stringify({ capability: 'x', priority: 'urgent', timeoutMs: 0 }), [json]),
  post('/v1/tasks', '{"capability":', [json]),
  post('/v1/tasks', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), [json]),
  post('/v1/tasks', '', [json]),
  post('/v1/tasks', '{"capability":"x","__proto__":{"polluted":1}}', [json]),
  post('/v1/tasks', `${'['.repeat(200)}${']'.repeat(200)}`, [json]),
  post('/v1/tasks', '{"capability":"x","payload":1e999}', [json]),
  post('/v1/tasks', task, ['content-type: text/plain']),
  post('/v1/tasks', task, ['content-type: application/vnd.x+json; charset=utf-8']),
  post('/v1/tasks', task, [json, 'content-type: text/plain']),
  post('/v1/tasks', encode({ capability: 'echo', payload: [1, 2] }), [
    'content-type: application/cbor',
    'accept: application/cbor',
  ]),
  post('/v1/tasks', 'x'.repeat(300), [json]),
  post('/v1/tasks?x=1', task, [json]),
  post('/v1/tasks/', task, [json]),
  post('/v1/tasks/batch', JSON.stringify({ tasks: [{ capability: 'a' }, { capability: 'b' }] }), [
    json,
  ]),
  post('/v1/tasks/batch', JSON.stringify({ tasks: [{ capability: 'a' }, { nope: 1 }] }), [json]),
  post('/v1/tasks/batch', JSON.stringify({ tasks: [] }), [json]),
  {
    head: ['POST /v1/tasks HTTP/1.1', 'host: 127.0.0.1', json, 'transfer-encoding: chunked'],
    body: `${task.length.toString(16)}\r\n${task}\r\n0\r\n\r\n`,
  },
  {
    head: ['POST /v1/tasks HTTP/1.1', 'host: 127.0.0.1', json, 'transfer-encoding: chunked'],
    body: `200\r\n${'x'.repeat(512)}\r\n0\r\n\r\n`,
  },
  // Over the limit: read to its end, then answered (the connection stays usable).
  post('/v1/tasks', 'x'.repeat(999_999), [json]),
  // Declared past the discard bound: answered at once, unread, with connection: close.
  { head: ['POST /v1/tasks HTTP/1.1', 'host: 127.0.0.1', json, 'content-length: 99999999999'] },
  {
    head: ['POST /v1/tasks HTTP/1.1', 'host: EXAMPLE', json, `content-length: ${task.length}`],
    body: task,
  },
];

const ADMIN = 'authorization: Bearer adm';

/** Both servers answer the same sequence of requests; answers and counts must be equal. */
async function compare(
  options: AppOptions,
  cases: { head: string[]; body?: string | Uint8Array }[],
  extra: string[] = [],
  state: State = 'ready',
) {
  const direct = await serve(true, options, state);
  const hono = await serve(false, options, state);
  for (const c of cases) {
    const head = [...c.head, ...extra];
    const a = await raw(direct.port, head, c.body ?? '');
    const b = await raw(hono.port, head, c.body ?? '');
    expect({ request: head, ...a }).toEqual({ request: head, ...b });
  }
  const counts = async (s: Served) => {
    const res = await fetch(`http://127.0.0.1:${s.port}/metrics`, {
      headers: { authorization: 'Bearer adm' },
    });
    const lines = (await res.text()).split('\n');
    return lines.filter((l) => l.startsWith('switchboard_http_responses_total{'));
  };
  expect(await counts(direct)).toEqual(await counts(hono));
  const submitted = async (s: Served) => (await s.sb.stats()).tasks.submitted;
  expect(await submitted(direct)).toBe(await submitted(hono));
}

describe('Node direct submit routes', () => {
  it('answer every request exactly as the Hono path does, auth off', async () => {
    await compare({ maxBodyBytes: 256 }, CASES);
  });

  it('answer exactly as Hono with auth on, for each token', async () => {
    const tokens = { admin: 'adm', client: 'cli', agent: 'agt' };
    const some = CASES.slice(0, 8);
    for (const auth of [[], ['authorization: Bearer nope'], ['authorization: Bearer agt']]) {
      await compare({ tokens, maxBodyBytes: 256 }, some, auth);
    }
    await compare({ tokens, maxBodyBytes: 256 }, CASES, ['authorization: Bearer cli']);
    await compare({ tokens }, some, [ADMIN.replace('Bearer', 'bearer ')]);
    await compare({ tokens }, some, [ADMIN, ADMIN]);
  });

  it('answer 429 with Retry-After and 503 while starting or draining, as Hono does', async () => {
    const limited = { rateLimits: { perIp: { capacity: 3, refillPerSec: 0.001 } } };
    await compare(limited, CASES.slice(0, 6));
    await compare({}, CASES.slice(0, 3), [], 'draining');
    await compare({}, CASES.slice(0, 3), [], 'starting');
  });

  it('take the W3C trace context headers as Hono does, a repeated traceparent ignored', async () => {
    const parent = `00-${'4b'.repeat(16)}-${'0f'.repeat(8)}-01`;
    const other = `00-${'5c'.repeat(16)}-${'1e'.repeat(8)}-01`;
    const cases: [string[], string | undefined, string | undefined][] = [
      [[`traceparent: ${parent}`, 'tracestate: a=1'], parent, 'a=1'],
      [[`TraceParent:  ${parent} `], parent, undefined],
      [[`traceparent: ${parent}`, `traceparent: ${other}`], undefined, undefined],
      [['traceparent: 00-nonsense', 'tracestate: a=1'], undefined, undefined],
      [[`traceparent: ${parent}`, 'tracestate: a=1', 'tracestate: b=2'], parent, 'a=1, b=2'],
    ];
    for (const hot of [true, false]) {
      const s = await serve(hot);
      for (const [headers, traceparent, tracestate] of cases) {
        const answer = await fetchJson(s.port, post('/v1/tasks', task, [json, ...headers]));
        const view = await s.sb.get(answer.id);
        expect([hot, view?.traceparent, view?.tracestate]).toEqual([hot, traceparent, tracestate]);
      }
    }
  });

  it('count their answers in /metrics', async () => {
    const s = await serve(true);
    await raw(s.port, post('/v1/tasks', task, [json]).head, task);
    await raw(s.port, post('/v1/tasks', '{', [json]).head, '{');
    const text = await fetch(`http://127.0.0.1:${s.port}/metrics`).then((r) => r.text());
    expect(text).toContain('switchboard_http_responses_total{status="202"} 1');
    expect(text).toContain('switchboard_http_responses_total{status="400"} 1');
  });

  it('answer arbitrary bodies as Hono does', async () => {
    const direct = await serve(true);
    const hono = await serve(false);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.json(), fc.string(), fc.uint8Array({ maxLength: 64 })),
        fc.boolean(),
        async (body, batch) => {
          const c = post(batch ? '/v1/tasks/batch' : '/v1/tasks', body, [json]);
          const a = await raw(direct.port, c.head, body);
          expect(a.status).not.toBe(500);
          expect(a).toEqual(await raw(hono.port, c.head, body));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('read a body that arrives in pieces, and survive a client that hangs up midway', async () => {
    const s = await serve(true);
    const answer = await new Promise<string>((resolve) => {
      const socket = connect(s.port, '127.0.0.1');
      let out = '';
      socket.on('data', (d) => {
        out += d;
      });
      socket.on('end', () => resolve(out));
      socket.write(
        `POST /v1/tasks HTTP/1.1\r\nhost: 127.0.0.1\r\n${json}\r\nconnection: close\r\ncontent-length: ${task.length}\r\n\r\n${task.slice(0, 5)}`,
      );
      setTimeout(() => socket.end(task.slice(5)), 20);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 202 /);
    await new Promise<void>((resolve) => {
      const socket = connect(s.port, '127.0.0.1', () => {
        socket.write(
          `POST /v1/tasks HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: 100\r\n\r\n{"capa`,
        );
        setTimeout(() => socket.destroy(), 20);
      });
      socket.on('close', () => resolve());
    });
    await new Promise((r) => setTimeout(r, 20));
    const text = await fetch(`http://127.0.0.1:${s.port}/metrics`).then((r) => r.text());
    expect(text).toContain('switchboard_http_responses_total{status="400"} 1');
    expect((await s.sb.stats()).tasks.submitted).toBe(1);
  });

  it('report a 500 to onBug with the request, and answer internal', async () => {
    const sb = createSwitchboard();
    await sb.start();
    const broken = Object.create(sb) as Switchboard;
    broken.submit = () => Promise.reject(new Error('boom'));
    const bugs: string[] = [];
    const app = createApp(broken, { onBug: (_err, req) => bugs.push(`${req.method} ${req.url}`) });
    const server = await nodeRuntime.serve(app.fetch, { port: 0, host: '127.0.0.1', hot: app.hot });
    open.push({ sb, server });
    const res = await raw(server.port, post('/v1/tasks', task, [json]).head, task);
    expect(res).toMatchObject({ status: 500, body: { error: { code: 'internal' } } });
    expect(bugs).toEqual([`POST http://127.0.0.1/v1/tasks`]);
  });
});
