import {
  createSwitchboard,
  defineAgent,
  type StreamItem,
  type Switchboard,
  type TaskContext,
} from '@switchboard/core';
import { createRedisBackend, type RedisBackend } from '@switchboard/plugins/redis';
import { beforeEach, describe, expect, it } from 'vitest';
import { redisFile } from './redis-fixture.js';

// Two backends (or two Switchboards) on one server stand for two processes: each has its own
// connections, and they share only what is in Redis.
const file = redisFile();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeEach(async () => {
  await file.admin.flushall();
});

async function backend(): Promise<RedisBackend> {
  const b = file.later(createRedisBackend({ port: file.redis.port, prefix: 'st' }), (x) =>
    x.close(),
  );
  await b.open();
  return b;
}

async function collect(items: AsyncIterable<StreamItem>): Promise<StreamItem[]> {
  const out: StreamItem[] = [];
  for await (const item of items) out.push(item);
  return out;
}

describe('Redis backend: task streams shared by every process', () => {
  it('numbers chunks across processes, trims to maxChunks with a count, and expires', async () => {
    const a = (await backend()).streams({ maxChunks: 5, retainMs: 300 });
    const b = (await backend()).streams({ maxChunks: 5, retainMs: 300 });
    expect(await a.append('t1', ['"a"', '"b"'], 100)).toBe(2);
    expect(await b.append('t1', ['"c"'], 101)).toBe(3);
    const all = await b.read('t1', 0, 100);
    expect(all.dropped).toBe(0);
    expect(all.chunks).toEqual([
      { seq: 1, json: '"a"', at: 100 },
      { seq: 2, json: '"b"', at: 100 },
      { seq: 3, json: '"c"', at: 101 },
    ]);
    expect((await a.read('t1', 2, 100)).chunks.map((c) => c.seq)).toEqual([3]);
    expect(await a.append('t1', ['1', '2', '3', '4'], 102)).toBe(7);
    const trimmed = await b.read('t1', 0, 100);
    expect(trimmed.dropped).toBe(2);
    expect(trimmed.chunks.map((c) => c.seq)).toEqual([3, 4, 5, 6, 7]);
    expect((await b.read('t1', 7, 100)).chunks).toEqual([]);
    expect((await a.read('t1', 5, 1)).chunks.map((c) => c.seq)).toEqual([6]);
    // retainMs after the last chunk, the stream is gone.
    await sleep(450);
    expect(await a.read('t1', 0, 100)).toEqual({ chunks: [], dropped: 0 });
  });

  describe('two Switchboards on one Redis', () => {
    let one: Switchboard;
    let two: Switchboard;
    // Opened by the reader as it gets the first and the second chunk.
    let release: (() => void)[];

    beforeEach(async () => {
      release = [];
      const [first, second] = [0, 1].map(
        (i) =>
          new Promise<void>((resolve) => {
            release[i] = resolve;
          }),
      );
      const llm = defineAgent({
        name: 'llm',
        capabilities: ['llm'],
        handle: async (_: unknown, ctx: TaskContext) => {
          // Each of the first two chunks waits for the reader on the other process to have
          // it: the reader heard of the second while the task ran, from that process.
          ctx.stream('t0');
          await first;
          ctx.stream('t1');
          await second;
          for (let i = 2; i < 100; i++) {
            ctx.stream(`t${i}`);
            if (i % 25 === 0) await sleep(5);
          }
          return 'done';
        },
      });
      const make = (agents: ReturnType<typeof defineAgent>[]) =>
        file.later(
          createSwitchboard({
            backend: createRedisBackend({ port: file.redis.port, prefix: 'sb' }),
            agents,
          }),
          (sb) => sb.shutdown({ drain: false }),
        );
      one = make([llm]);
      two = make([]);
      await one.start();
      await two.start();
    });

    it('a reader on one process follows live the chunks of a handler on the other, then the end', async () => {
      const handle = await one.submit({ capability: 'llm' });
      const items: StreamItem[] = [];
      const statuses: string[] = [];
      for await (const item of two.stream(handle.id)) {
        items.push(item);
        if (items.length <= 2) {
          statuses.push((await two.get(handle.id)).status);
          release[items.length - 1]?.();
        }
      }
      expect(statuses).toEqual(['leased', 'leased']);
      const chunks = items.filter((i) => i.type === 'chunk');
      expect(chunks.map((c) => c.data)).toEqual(Array.from({ length: 100 }, (_, i) => `t${i}`));
      expect(chunks.map((c) => c.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
      expect(items.at(-1)).toEqual({ type: 'end', status: 'completed' });
      expect(await handle.result).toBe('done');
      // And after the fact, through either process.
      const again = await collect(one.stream(handle.id, { after: 98 }));
      expect(again.map((i) => (i.type === 'chunk' ? i.seq : i.type))).toEqual([99, 100, 'end']);
    });

    it("a remote agent's report through one process is read through the other", async () => {
      const agent = one.registerRemote({ capabilities: ['remote'] });
      const handle = await two.submit({ capability: 'remote' });
      const [lease] = await one.lease(agent.id, { max: 1, waitMs: 2000 });
      if (lease === undefined) throw new Error('no lease');
      const reading = collect(two.stream(handle.id));
      await sleep(100);
      const answer = await one.progress(lease.id, lease.leaseToken, {
        value: 0.5,
        chunks: ['a', 'b'],
      });
      expect(answer.lastSeq).toBe(2);
      await one.progress(lease.id, lease.leaseToken, { chunks: ['c'] });
      await one.complete(lease.id, lease.leaseToken, 'ok');
      const items = await reading;
      expect(items.map((i) => (i.type === 'chunk' ? i.data : i.type))).toEqual([
        'a',
        'b',
        'c',
        'end',
      ]);
      expect((await two.get(handle.id)).progress?.value).toBe(0.5);
    });
  });
});
