// Delayed tasks and retries on every backend, against the real clock: each must start within
// 50 ms of its due time while an agent is free, with no other work to wake the dispatcher.
// Fake timers cannot show this (a timer that fires early against the clock, or a due time
// forgotten while another timer was armed), so these run on real time.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Backend, createSwitchboard, defineAgent, type TaskContext } from '@switchboard/core';
import { createJournalBackend } from '@switchboard/plugins/journal';
import { createRedisBackend } from '@switchboard/plugins/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTaskRecord } from '../../packages/core/src/model/task.js';
import { type RedisServerHandle, startRedisServer } from '../helpers/redis-server.js';

/** How late a task may start past its due time while an agent is free (DESIGN.md's bar). */
const LATE_MS = 50;
/**
 * The bound on the latest start of a run. The bar holds for the 99th percentile; a single
 * start may be later when the test shares its cores with other test processes, but a due
 * time that was forgotten is later still: such a task waits for unrelated work, or forever.
 */
const STALL_MS = 250;
const hasRedis = spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
if (!hasRedis) console.warn('timing: redis-server not found, the Redis case is skipped');

let redis: RedisServerHandle | undefined;
const dirs: string[] = [];
beforeAll(async () => {
  if (hasRedis) redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.dispose();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const backends: [string, () => Backend | undefined][] = [
  ['memory', () => undefined],
  [
    'journal',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'sb-timing-'));
      dirs.push(dir);
      return createJournalBackend({ dir });
    },
  ],
  [
    'redis',
    () =>
      createRedisBackend({
        port: (redis as RedisServerHandle).port,
        prefix: `timing-${crypto.randomUUID().slice(0, 8)}`,
      }),
  ],
];

/** The largest value and the 99th percentile of `xs`. */
function summary(xs: number[]): { max: number; p99: number } {
  const sorted = [...xs].sort((a, b) => a - b);
  return {
    max: sorted[sorted.length - 1] ?? 0,
    p99: sorted[Math.floor(sorted.length * 0.99)] ?? 0,
  };
}

describe.each(backends)('on the %s backend', (name, make) => {
  it.skipIf(name === 'redis' && !hasRedis)(
    'starts delayed tasks and retries within 50 ms of their due time',
    async () => {
      // Each entry: when the task (or its retry) became due, and when its attempt started.
      const due = new Map<string, number>();
      const lateness: number[] = [];
      const agent = defineAgent({
        name: 'clocked',
        capabilities: ['timed'],
        config: { maxConcurrency: 32 },
        handle: (payload: { key: string; failFirst: boolean }, ctx: TaskContext) => {
          const now = Date.now();
          const key = `${payload.key}#${ctx.attempt}`;
          lateness.push(now - (due.get(key) as number));
          if (payload.failFirst && ctx.attempt === 1) {
            // The retry is due one backoff after this failure.
            due.set(`${payload.key}#2`, Date.now() + 10);
            throw new Error('first attempt fails');
          }
          return payload.key;
        },
      });
      const backend = make();
      const sb = createSwitchboard({
        agents: [{ definition: agent }],
        retry: { initialDelayMs: 10, maxDelayMs: 10, factor: 1, jitter: 0 },
        ...(backend === undefined ? {} : { backend }),
      });
      await sb.start();
      try {
        const results: Promise<unknown>[] = [];
        // Waves of tasks with delays spread over 0..120 ms, a third of them failing once.
        for (let wave = 0; wave < 6; wave++) {
          for (let i = 0; i < 40; i++) {
            const key = `${wave}-${i}`;
            const delayMs = (i * 7) % 121;
            due.set(`${key}#1`, Date.now() + delayMs);
            const handle = await sb.submit({
              capability: 'timed',
              payload: { key, failFirst: i % 3 === 0 },
              delayMs,
              maxAttempts: 2,
            });
            results.push(handle.result);
          }
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
        await Promise.all(results);
        // Then lone tasks, one at a time: nothing but the wake-up timer can start them.
        for (let i = 0; i < 20; i++) {
          const key = `lone-${i}`;
          const delayMs = 5 + (i % 6);
          due.set(`${key}#1`, Date.now() + delayMs);
          const handle = await sb.submit({
            capability: 'timed',
            payload: { key, failFirst: i % 2 === 0 },
            delayMs,
            maxAttempts: 2,
          });
          const stalled = new Promise((resolve) => setTimeout(resolve, 500, 'stalled'));
          expect(await Promise.race([handle.result, stalled])).toBe(key);
        }
        const { max, p99 } = summary(lateness);
        console.log(
          `timing[${name}]: ${lateness.length} attempts, late max ${max} ms, p99 ${p99} ms`,
        );
        // Every task once, and again for the 14 of each wave of 40 and the 10 lone tasks that
        // fail their first attempt.
        expect(lateness.length).toBe(6 * (40 + 14) + 20 + 10);
        expect(p99).toBeLessThanOrEqual(LATE_MS);
        expect(max).toBeLessThanOrEqual(STALL_MS);
      } finally {
        await sb.shutdown();
      }
    },
    30_000,
  );
});

describe.skipIf(!hasRedis)(
  'a delayed task queued through one process, run by another (Redis)',
  () => {
    let prefix = '';
    /** Two Switchboards on one Redis prefix: `a` with no agent, `b` with the only agent. */
    async function pair(started: number[]) {
      prefix = `timing-pair-${crypto.randomUUID().slice(0, 8)}`;
      const backend = () => createRedisBackend({ port: (redis as RedisServerHandle).port, prefix });
      const agent = defineAgent({
        name: 'elsewhere',
        capabilities: ['remote-delay'],
        handle: () => {
          started.push(Date.now());
          return 'ran';
        },
      });
      const a = createSwitchboard({ backend: backend() });
      const b = createSwitchboard({ backend: backend(), agents: [{ definition: agent }] });
      await a.start();
      await b.start();
      return { a, b };
    }

    it('starts on time while the process it came through is up', async () => {
      const started: number[] = [];
      const { a, b } = await pair(started);
      try {
        for (let i = 0; i < 5; i++) {
          const due = Date.now() + 80;
          await a.submit({ capability: 'remote-delay', payload: i, delayMs: 80 });
          const deadline = Date.now() + 2_000;
          while (started.length <= i && Date.now() < deadline) await sleep(2);
          expect((started[i] ?? Number.POSITIVE_INFINITY) - due).toBeLessThanOrEqual(STALL_MS);
        }
      } finally {
        await a.shutdown();
        await b.shutdown();
      }
    });

    it('starts within about a second of its due time after that process is gone', async () => {
      // A process that queued a delayed task and died before it was due: it told no one and
      // armed no timer anywhere else, so only the backend knows the task.
      const started: number[] = [];
      const { a, b } = await pair(started);
      await a.shutdown();
      const gone = createRedisBackend({ port: (redis as RedisServerHandle).port, prefix });
      await gone.open();
      const due = Date.now() + 150;
      const task = newTaskRecord('gone-1', 'remote-delay', 0, 'normal', 3, 30_000, due, Date.now());
      await gone.enqueue([task]);
      await gone.close();
      try {
        const deadline = Date.now() + 5_000;
        while (started.length === 0 && Date.now() < deadline) await sleep(5);
        expect((started[0] ?? Number.POSITIVE_INFINITY) - due).toBeLessThanOrEqual(
          1_000 + STALL_MS,
        );
      } finally {
        await b.shutdown();
      }
    }, 15_000);
  },
);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
