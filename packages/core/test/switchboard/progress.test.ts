import { afterEach, describe, expect, it } from 'vitest';
import { defineAgent } from '../../src/agent/definition.js';
import type { SwitchboardError } from '../../src/errors.js';
import type { BusEvent } from '../../src/events/event-bus.js';
import type { TaskContext } from '../../src/model/agent.js';
import type { StreamItem } from '../../src/runtime/streams/follow-stream.js';
import { createSwitchboard, type Switchboard } from '../../src/switchboard.js';

let sb: Switchboard | undefined;
afterEach(async () => {
  await sb?.shutdown({ drain: false });
  sb = undefined;
});

/** A handler that runs until `release` is called, so a test can look at it mid-way. */
function gate() {
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { release, released };
}

async function collect(items: AsyncIterable<StreamItem>): Promise<StreamItem[]> {
  const out: StreamItem[] = [];
  for await (const item of items) out.push(item);
  return out;
}

describe('progress of an in-process handler', () => {
  it('publishes task.progress and keeps the last value on the task, with when', async () => {
    const { release, released } = gate();
    let reported!: () => void;
    const midway = new Promise<void>((resolve) => {
      reported = resolve;
    });
    sb = createSwitchboard({
      agents: [
        defineAgent({
          name: 'steps',
          capabilities: ['steps'],
          handle: async (_: unknown, ctx: TaskContext) => {
            ctx.progress(0.25);
            ctx.progress({ step: 2, of: 4 });
            reported();
            await released;
            for (let i = 3; i <= 4; i++) ctx.progress({ step: i, of: 4 });
            return 'done';
          },
        }),
      ],
    });
    await sb.start();
    const events: BusEvent[] = [];
    sb.events.subscribe('task.progress', (e) => {
      events.push(e);
    });
    const before = Date.now();
    const handle = await sb.submit({ capability: 'steps' });
    await midway;
    // The second write waits for the first: the view has the last value within a few turns.
    await expect
      .poll(async () => (await sb?.get(handle.id))?.progress?.value)
      .toEqual({ step: 2, of: 4 });
    const mid = await sb.get(handle.id);
    expect(mid.status).toBe('leased');
    expect(mid.progress?.at).toBeGreaterThanOrEqual(before);
    release();
    expect(await handle.result).toBe('done');
    // The last value reported before the handler returned is the one the task keeps.
    expect((await sb.get(handle.id)).progress?.value).toEqual({ step: 4, of: 4 });
    expect(events.map((e) => e.value)).toEqual([
      0.25,
      { step: 2, of: 4 },
      { step: 3, of: 4 },
      { step: 4, of: 4 },
    ]);
    expect(events[0]).toMatchObject({ taskId: handle.id, capability: 'steps', attempt: 1 });
    expect(typeof events[0]?.agentId).toBe('string');
  });

  it('refuses a value that is not JSON or too large, with a typed error', async () => {
    const errors: SwitchboardError[] = [];
    sb = createSwitchboard({
      agents: [
        defineAgent({
          name: 'bad',
          capabilities: ['bad'],
          handle: (_: unknown, ctx: TaskContext) => {
            for (const value of [undefined, 10n, Number.NaN, 'x'.repeat(5000), () => 1]) {
              try {
                ctx.progress(value);
              } catch (e) {
                errors.push(e as SwitchboardError);
              }
            }
            return 'ok';
          },
        }),
      ],
    });
    await sb.start();
    expect(await sb.run({ capability: 'bad' })).toBe('ok');
    expect(errors.map((e) => e.code)).toEqual([
      'invalid_request',
      'invalid_request',
      'invalid_request',
      'payload_too_large',
      'invalid_request',
    ]);
  });
});

describe('streams of partial output, in-process', () => {
  it('a reader follows the chunks live in order, then gets the end', async () => {
    const { release, released } = gate();
    sb = createSwitchboard({
      agents: [
        defineAgent({
          name: 'llm',
          capabilities: ['llm'],
          handle: async (_: unknown, ctx: TaskContext) => {
            await released;
            for (let i = 0; i < 50; i++) {
              ctx.stream(`t${i} `);
              if (i % 10 === 0) await new Promise((r) => setTimeout(r, 2));
            }
            return 'all';
          },
        }),
      ],
    });
    await sb.start();
    const handle = await sb.submit({ capability: 'llm' });
    const reading = collect(sb.stream(handle.id));
    release();
    const items = await reading;
    const chunks = items.filter((i) => i.type === 'chunk');
    expect(chunks.map((c) => c.data)).toEqual(Array.from({ length: 50 }, (_, i) => `t${i} `));
    expect(chunks.map((c) => c.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(items.at(-1)).toEqual({ type: 'end', status: 'completed' });
    expect(await handle.result).toBe('all');
  });

  it('keeps at most maxChunks: a late reader gets a dropped marker, the kept chunks and the end', async () => {
    sb = createSwitchboard({
      streams: { maxChunks: 10 },
      agents: [
        defineAgent({
          name: 'llm',
          capabilities: ['llm'],
          handle: (_: unknown, ctx: TaskContext) => {
            for (let i = 1; i <= 25; i++) ctx.stream({ i });
            return 'x';
          },
        }),
      ],
    });
    await sb.start();
    const handle = await sb.submit({ capability: 'llm' });
    await handle.result;
    const items = await collect(sb.stream(handle.id));
    expect(items[0]).toEqual({ type: 'dropped', count: 15 });
    expect(items.slice(1, -1).map((i) => (i.type === 'chunk' ? i.data : i))).toEqual(
      Array.from({ length: 10 }, (_, k) => ({ i: k + 16 })),
    );
    expect(items.at(-1)).toEqual({ type: 'end', status: 'completed' });
    // Reading on from a place: only what came after it.
    const later = await collect(sb.stream(handle.id, { after: 23 }));
    expect(later.map((i) => (i.type === 'chunk' ? i.seq : i.type))).toEqual([24, 25, 'end']);
  });

  it('bounds bytes per task, refuses an oversized chunk, and checks its options', async () => {
    expect(() => createSwitchboard({ streams: { maxChunk: 3 } as never })).toThrow(/maxChunks/);
    expect(() => createSwitchboard({ streams: { maxBytes: 0 } })).toThrow(/streams.maxBytes/);
    let refused: SwitchboardError | undefined;
    sb = createSwitchboard({
      streams: { maxBytes: 100, maxChunkBytes: 40 },
      agents: [
        defineAgent({
          name: 'llm',
          capabilities: ['llm'],
          handle: (_: unknown, ctx: TaskContext) => {
            for (let i = 0; i < 10; i++) ctx.stream('0123456789'); // 12 bytes of JSON each
            try {
              ctx.stream('y'.repeat(50));
            } catch (e) {
              refused = e as SwitchboardError;
            }
            return 'x';
          },
        }),
      ],
    });
    await sb.start();
    const handle = await sb.submit({ capability: 'llm' });
    await handle.result;
    expect(refused?.code).toBe('payload_too_large');
    const items = await collect(sb.stream(handle.id));
    // 8 chunks of 12 bytes fit in 100.
    expect(items[0]).toEqual({ type: 'dropped', count: 2 });
    expect(items.filter((i) => i.type === 'chunk')).toHaveLength(8);
  });

  it('an unknown task is not_found; a task that never streamed ends at once', async () => {
    sb = createSwitchboard({
      agents: [defineAgent({ name: 'e', capabilities: ['e'], handle: (p: unknown) => p })],
    });
    await sb.start();
    await expect(collect(sb.stream('nope'))).rejects.toMatchObject({ code: 'not_found' });
    const handle = await sb.submit({ capability: 'e', payload: 1 });
    await handle.result;
    expect(await collect(sb.stream(handle.id))).toEqual([{ type: 'end', status: 'completed' }]);
  });
});
