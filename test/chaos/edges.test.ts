// Chaos at the edges of the HTTP server. Event-stream clients that stop reading while tasks
// flood events: the server's memory stays bounded (each client has a bounded buffer, then is
// dropped with a last `switchboard.dropped` event), and the server keeps serving. Bursts of
// submits 10× over the rate limit: each answer is a 202 or a 429 with `Retry-After`, never a
// 500 nor a dropped connection, and every accepted task completes.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, sleep } from '../helpers/http-agent.js';
import { type Spec, submit } from './client.js';
import {
  deadLetters,
  expectClean,
  Ledger,
  long,
  report,
  rounds,
  settle,
  verdict,
} from './ledger.js';
import { bundleServer, rssOf, scratch, startServer } from './server.js';

const ROUNDS = rounds(1);
const work = scratch('edges');
let bundle: string;

beforeAll(async () => {
  bundle = await bundleServer(work.dir);
}, 60_000);
afterAll(() => work.dispose());

const ECHO = `[{ name: 'echo', capabilities: ['echo'], config: { maxConcurrency: 64 },
  handle: (p) => ({ key: p.key }) }]`;

/** An event-stream client that reads the first line, then nothing until `resume()`. */
function stalled(base: string): Promise<{ resume(): Promise<string> }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}/v1/events?topics=${encodeURIComponent('**')}`, (res) => {
      res.once('data', () => {
        res.pause();
        resolve({
          resume: () =>
            new Promise((done) => {
              let text = '';
              res.setEncoding('utf8');
              res.on('data', (c: string) => {
                text = (text + c).slice(-2_000);
              });
              res.on('end', () => done(text));
              res.on('error', () => done(text));
              res.on('close', () => done(text));
              res.resume();
            }),
        });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

const MB = 1024 * 1024;

describe('chaos: slow event-stream clients and bursts over the rate limits', () => {
  it(
    'keeps the server memory bounded while event-stream clients stop reading',
    async () => {
      const ledger = new Ledger();
      const server = await startServer(bundle, work.dir, { agents: ECHO });
      const servers = () => [server.url];
      // Warm the server (code paths, buffers) before taking its baseline.
      let n = 0;
      const batch = (size: number): Spec[] =>
        Array.from({ length: size }, () => ({ key: `e-${n++}`, capability: 'echo' }));
      for (let i = 0; i < 5; i++) await submit(servers, ledger, batch(500));
      // Read back in chunks, within the memory backend's retention of finished tasks.
      const views = await settle(() => server.url, ledger, 20_000);
      const baseline = (await rssOf(server.pid)) as number;

      const slow = await Promise.all(Array.from({ length: 20 }, () => stalled(server.url)));
      let peak = baseline;
      const tasks = 10_000 * ROUNDS;
      for (let chunk = 0; chunk < tasks; chunk += 5_000) {
        const part = new Ledger();
        for (let i = 0; i < 5_000; i += 500) {
          await submit(servers, part, batch(500));
          peak = Math.max(peak, (await rssOf(server.pid)) ?? 0);
        }
        for (const [id, t] of await settle(() => server.url, part, 60_000)) views.set(id, t);
        for (const [key, id] of part.accepted) ledger.accept(key, id);
        peak = Math.max(peak, (await rssOf(server.pid)) ?? 0);
      }
      const health = await call(server.url, 'GET', '/healthz');
      // Each stalled client, read again, ends with the drop notice (its buffer overflowed).
      const tails = await Promise.race([
        Promise.all(slow.map((s) => s.resume())),
        sleep(10_000).then(() => [] as string[]),
      ]);
      const dead = await deadLetters(server.url);
      await server.stop();
      const v = verdict(ledger, views, dead);
      report('edges slow event streams', {
        'stalled clients': slow.length,
        tasks: ledger.accepted.size,
        'events per client': tasks * 3,
        'server RSS MB baseline/peak': `${Math.round(baseline / MB)}/${Math.round(peak / MB)}`,
        'dropped clients': tails.filter((t) => t.includes('switchboard.dropped')).length,
        lost: v.lost.length,
      });

      expectClean(ledger, v);
      expect(health.status).toBe(200);
      expect(tails.filter((t) => t.includes('switchboard.dropped')).length).toBe(slow.length);
      // Unbounded, 20 clients would hold every event: ~60,000 × 20 frames, hundreds of MB.
      expect(peak - baseline).toBeLessThan(100 * MB);
    },
    (long ? 600 : 90) * 1000,
  );

  it(
    'answers a burst 10× over the rate limit with 202 or 429 and Retry-After, losing nothing',
    async () => {
      const ledger = new Ledger();
      const RATE = 50;
      const server = await startServer(bundle, work.dir, {
        agents: ECHO,
        config: { rateLimits: { perIp: { capacity: RATE, refillPerSec: RATE } } },
      });
      const statuses = new Map<number, number>();
      const bad: string[] = [];
      let k = 0;
      const one = async (batch: boolean) => {
        const specs = Array.from({ length: batch ? 5 : 1 }, () => ({
          capability: 'echo',
          payload: { key: `b-${k}` },
          idempotencyKey: `b-${k++}`,
        }));
        const path = batch ? '/v1/tasks/batch' : '/v1/tasks';
        const res = await fetch(server.url + path, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(batch ? { tasks: specs } : specs[0]),
        }).catch((err: Error) => err);
        if (res instanceof Error) {
          bad.push(`${path}: ${res.message}`);
          return;
        }
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        const body = await res.json();
        if (res.status === 202) {
          const ids: string[] = batch ? body.ids : [body.id];
          for (const [i, s] of specs.entries()) ledger.accept(s.idempotencyKey, ids[i] as string);
        } else if (res.status === 429) {
          const after = Number(res.headers.get('retry-after'));
          if (!(after >= 1) || body.error?.code !== 'rate_limited')
            bad.push(
              `429 with Retry-After ${res.headers.get('retry-after')}: ${JSON.stringify(body)}`,
            );
        } else bad.push(`${path}: ${res.status} ${JSON.stringify(body)}`);
      };
      // 10× the sustained rate for two seconds per round, in waves every 50 ms.
      const seconds = 2 * ROUNDS;
      for (let wave = 0; wave < seconds * 20; wave++) {
        await Promise.all(Array.from({ length: RATE / 2 }, (_, i) => one(i % 5 === 0)));
        await sleep(50);
      }
      // Reads are limited too: the server's counts say whether every accepted task ran (the
      // server is this test's alone, and every key is new).
      const accepted = ledger.accepted.size;
      let counts = { submitted: -1, completed: -1, dead: -1, depth: -1 };
      for (const end = Date.now() + 30_000; Date.now() < end; await sleep(200)) {
        const a = await call(server.url, 'GET', '/v1/stats');
        if (a.status !== 200) continue;
        counts = { ...a.body.tasks, depth: a.body.queue.depth };
        if (counts.completed >= accepted && counts.depth === 0) break;
      }
      await server.stop();
      report('edges burst over rate limit', {
        'requests per second': RATE * 10,
        'limit per second': RATE,
        answers: JSON.stringify(Object.fromEntries(statuses)),
        'accepted tasks': accepted,
        'bad answers': bad.length,
        lost: accepted - counts.completed,
      });

      expect(counts).toMatchObject({ submitted: accepted, completed: accepted, dead: 0, depth: 0 });
      expect(bad.slice(0, 10)).toEqual([]);
      expect([...statuses.keys()].sort()).toEqual([202, 429]);
      expect(statuses.get(429)).toBeGreaterThan(statuses.get(202) as number);
    },
    (long ? 300 : 60) * 1000,
  );
});
