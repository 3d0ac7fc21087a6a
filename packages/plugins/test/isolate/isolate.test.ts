// Isolated agents on real worker threads and real child processes: each way a child can
// die (a throw at top level, process.exit, SIGKILL, out of memory, a blocked event loop) is
// caused for real, and the test checks what a user sees: the task completes once, on a
// later attempt, the agent is restarted (a new instance), and agent.failed says why.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AgentSpec,
  createSwitchboard,
  defineAgent,
  type Switchboard,
  type SwitchboardOptions,
} from '@switchboard/core';
import { isolate } from '@switchboard/plugins/isolate';
import { restart } from '@switchboard/plugins/restart';
import { afterEach, describe, expect, it, vi } from 'vitest';

const MODULE = new URL('./fixtures/worker-agent.mjs', import.meta.url);

interface Where {
  pid: number;
  threadId: number;
  agentId: string;
  attempt: number;
}

interface Failed {
  agentId: string;
  reason: string;
  error: string;
  action: { action: string };
}

// Real threads and processes start slower on a loaded machine than the default 5 s allows.
vi.setConfig({ testTimeout: 20_000 });

const running: Switchboard[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((sb) => sb.shutdown({ timeoutMs: 2_000 })));
});

async function start(
  runIn: 'thread' | 'process',
  more: Parameters<typeof isolate>[1] extends infer O ? Partial<O> : never = {},
  options: SwitchboardOptions = {},
) {
  const definition = await isolate(MODULE, { runIn, ...more });
  const sb = createSwitchboard({ agents: [definition], ...options });
  running.push(sb);
  const failed: Failed[] = [];
  sb.events.subscribe('agent.failed', (e) => {
    failed.push(e as unknown as Failed);
  });
  await sb.start();
  const run = async (payload: unknown) => {
    const handle = await sb.submit({ capability: 'work', payload, maxAttempts: 3 });
    return (await handle.result) as Where;
  };
  return { sb, failed, run };
}

describe('isolated agents', () => {
  it('runs the same agent module in-process, in a thread and in a process', async () => {
    const { default: spec } = (await import(MODULE.href)) as {
      default: AgentSpec<unknown, unknown>;
    };
    const inProcess = createSwitchboard({ agents: [defineAgent(spec)] });
    running.push(inProcess);
    await inProcess.start();
    const local = (await (
      await inProcess.submit({ capability: 'work', payload: { do: 'echo', value: 1 } })
    ).result) as Where;
    const thread = await start('thread');
    const child = await start('process');
    const inThread = await thread.run({ do: 'echo', value: new Map([['k', 2]]) });
    const inChild = await child.run({ do: 'echo', value: new Date(3) });
    expect(local).toMatchObject({ pid: process.pid, threadId: 0, attempt: 1 });
    expect(inThread).toMatchObject({ pid: process.pid, value: new Map([['k', 2]]) });
    expect(inThread.threadId).not.toBe(0);
    expect(inChild.pid).not.toBe(process.pid);
    expect(inChild).toMatchObject({ value: new Date(3), attempt: 1 });
    // Init ran in the child, for the instance the pool made.
    expect(inChild).toMatchObject({ startedAs: inChild.agentId });
    expect(thread.sb.pool.agents('worker')).toHaveLength(1);
  });

  for (const runIn of ['thread', 'process'] as const) {
    for (const action of ['throw-at-top', 'exit'] as const) {
      it(`a ${runIn} that crashes (${action}) fails its agent at once; the task completes on attempt 2 in a new one`, async () => {
        const { sb, failed, run } = await start(runIn);
        const before = (await run({ do: 'echo' })).agentId;
        const done = await run({ do: action });
        expect(done.attempt).toBe(2);
        expect(done.agentId).not.toBe(before);
        expect(failed).toHaveLength(1);
        expect(failed[0]).toMatchObject({ agentId: before, reason: 'crashed' });
        expect(failed[0]?.error).toMatch(
          action === 'exit' ? /exited with code 3/ : /boom at top level/,
        );
        expect(failed[0]?.action.action).toBe('restart');
        expect(sb.pool.agents('worker').map((a) => a.id)).toEqual([done.agentId]);
      });
    }
  }

  it('a process killed by SIGKILL mid-task: the task is retried in the restarted agent', async () => {
    const { failed, run } = await start('process');
    const { pid } = await run({ do: 'echo' });
    const slow = run({ do: 'slow', ms: 5_000 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    process.kill(pid, 'SIGKILL');
    const done = await slow;
    expect(done.attempt).toBe(2);
    expect(done.pid).not.toBe(pid);
    expect(failed).toMatchObject([{ reason: 'crashed' }]);
    expect(failed[0]?.error).toMatch(/killed by SIGKILL/);
  });

  for (const runIn of ['thread', 'process'] as const) {
    it(`a ${runIn} past its heap limit dies of out-of-memory and is restarted`, async () => {
      const { failed, run } = await start(runIn, { maxHeapMb: 32 });
      const done = await run({ do: 'oom' });
      expect(done.attempt).toBe(2);
      expect(failed).toMatchObject([{ reason: 'crashed' }]);
      // V8 ends a thread with an out-of-memory error, and aborts a process.
      expect(failed[0]?.error).toMatch(runIn === 'thread' ? /out of memory/ : /killed by SIGABRT/);
    });
  }

  for (const runIn of ['thread', 'process'] as const) {
    it(`a ${runIn} whose event loop is blocked misses its heartbeats, is killed and restarted`, async () => {
      const { failed, run } = await start(runIn);
      const started = Date.now();
      const done = await run({ do: 'hang' });
      expect(done.attempt).toBe(2);
      expect(failed).toMatchObject([{ reason: 'hung' }]);
      expect(failed[0]?.error).toMatch(/sent no heartbeat/);
      // Detected after the 2 s heartbeat timeout, well before the task's own 30 s timeout.
      expect(Date.now() - started).toBeLessThan(10_000);
    });
  }

  it('recycles a process after maxTasks, without failing the agent', async () => {
    const { sb, failed, run } = await start('process', { maxTasks: 2 });
    const pids: number[] = [];
    for (let i = 0; i < 5; i++) pids.push((await run({ do: 'echo', value: i })).pid);
    expect(pids[0]).toBe(pids[1]);
    expect(pids[2]).toBe(pids[3]);
    expect(new Set(pids).size).toBe(3);
    expect(failed).toEqual([]);
    expect(sb.pool.agents('worker')).toHaveLength(1);
  });

  it('recycles a process whose resident memory passes maxRssMb', async () => {
    const { failed, run } = await start('process', { maxRssMb: 120 });
    const first = await run({ do: 'retain', mb: 160 });
    let next = first;
    for (let i = 0; i < 40 && next.pid === first.pid; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      next = await run({ do: 'echo' });
    }
    expect(next.pid).not.toBe(first.pid);
    expect(next.agentId).toBe(first.agentId);
    expect(failed).toEqual([]);
  });

  it('fails the agent for good once the restart intensity is spent', async () => {
    const { sb, failed } = await start(
      'thread',
      {},
      { recovery: restart({ maxRestarts: 2, windowMs: 30_000, initialDelayMs: 10 }) },
    );
    const handle = await sb.submit({
      capability: 'work',
      payload: { do: 'always-exit' },
      maxAttempts: 5,
    });
    await expect.poll(() => failed.length, { timeout: 10_000 }).toBe(3);
    expect(failed.map((f) => f.action.action)).toEqual(['restart', 'restart', 'give_up']);
    expect(failed.every((f) => f.reason === 'crashed')).toBe(true);
    expect(sb.pool.agents('worker').filter((a) => a.live)).toEqual([]);
    // Each crash counted an attempt of the task.
    expect((await sb.get(handle.id)).attempts).toBe(3);
  });

  it.each(['thread', 'process'] as const)(
    'refuses at submit a task whose payload or metadata cannot be copied to a %s, queuing nothing',
    async (runIn) => {
      const { sb, run } = await start(runIn);
      const refusal = (path: string) => ({
        code: 'invalid_request',
        message: expect.stringContaining(`cannot be copied to the ${runIn} of isolated agent`),
        details: [expect.objectContaining({ path })],
      });
      await expect(
        sb.submit({ capability: 'work', payload: { do: 'echo', value: () => 1 } }),
      ).rejects.toMatchObject(refusal('payload'));
      await expect(
        sb.submit({ capability: 'work', payload: { do: 'echo' }, metadata: { done: () => 1 } }),
      ).rejects.toMatchObject(refusal('metadata'));
      // In a batch the whole batch is refused, the bad task named by its index.
      await expect(
        sb.submitMany([
          { capability: 'work', payload: { do: 'echo' } },
          { capability: 'work', payload: { do: 'echo', socket: Symbol('not data') } },
        ]),
      ).rejects.toMatchObject(refusal('tasks.1.payload'));
      expect((await sb.stats()).queue.depth).toBe(0);
      // What can be copied still goes, BigInt and Map included, and the handler in the child
      // has the task's trace context.
      const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
      const ok = await sb.submit({
        capability: 'work',
        payload: { do: 'echo', value: 1n },
        traceparent,
      });
      await expect(ok.result).resolves.toMatchObject({ attempt: 1, value: 1n, traceparent });
      expect((await run({ do: 'echo', value: new Map([[1, 2]]) })).attempt).toBe(1);
    },
  );

  it.each(['thread', 'process'] as const)(
    'fails for good, saying why, a task queued before a %s agent existed whose payload cannot cross, or whose result cannot',
    async (runIn) => {
      const sb = createSwitchboard();
      running.push(sb);
      const failed: unknown[] = [];
      sb.events.subscribe('agent.failed', (e) => {
        failed.push(e);
      });
      await sb.start();
      // Nothing checks it at submit: no agent of the capability is defined yet.
      const payload = await sb.submit({
        capability: 'work',
        payload: { do: 'echo', value: () => 1 },
      });
      await sb.addAgent(await isolate(MODULE, { runIn }));
      await expect(payload.result).rejects.toThrow(new RegExp(`cannot cross to the ${runIn}`));
      const result = await sb.submit({ capability: 'work', payload: { do: 'function' } });
      await expect(result.result).rejects.toThrow(/result cannot be sent back/);
      const refused = await sb.submit({ capability: 'work', payload: { do: 'refuse' } });
      await expect(refused.result).rejects.toThrow(/refused for good/);
      for (const id of [payload.id, result.id, refused.id]) {
        expect(await sb.get(id)).toMatchObject({ status: 'dead', attempts: 1 });
      }
      expect(failed).toEqual([]);
    },
  );

  it.each(['thread', 'process'] as const)(
    'gives a handler in a %s the progress, stream, spawn and run of its context',
    async (runIn) => {
      const { sb } = await start(runIn, { config: { maxConcurrency: 4 } });
      const progress: unknown[] = [];
      sb.events.subscribe('task.progress', (e) => {
        progress.push(e.value);
      });
      const handle = await sb.submit({
        capability: 'work',
        payload: { do: 'report', chunks: ['Hello', ', ', 'world'] },
      });
      await handle.result;
      const items: unknown[] = [];
      for await (const item of sb.stream(handle.id)) items.push(item);
      expect(items.map((i) => (i as { data?: unknown }).data ?? i)).toEqual([
        'Hello',
        ', ',
        'world',
        { type: 'end', status: 'completed' },
      ]);
      await vi.waitFor(() => expect(progress).toContainEqual({ step: 2, of: 2 }));
      expect((await sb.get(handle.id)).progress).toMatchObject({ value: { step: 2, of: 2 } });
      expect(
        await sb.run({ capability: 'work', payload: { do: 'fan-out', values: [1, 2, 3] } }),
      ).toEqual({
        values: [1, 2, 3],
        cancelled: 'cancelled',
        failure: 'task_failed',
      });
      // A progress value over the limit fails its task, as the throw would in-process.
      const tooMuch = await sb.submit({
        capability: 'work',
        payload: { do: 'too-much-progress' },
        maxAttempts: 1,
      });
      await expect(tooMuch.result).rejects.toMatchObject({ code: 'task_failed' });
      expect((await sb.get(tooMuch.id)).error).toMatchObject({ code: 'payload_too_large' });
    },
  );

  it('runs as many tasks at once in one child as its maxConcurrency allows', async () => {
    const { run } = await start('process', { config: { maxConcurrency: 4 } });
    const started = Date.now();
    const done = await Promise.all([1, 2, 3, 4].map(() => run({ do: 'slow', ms: 800 })));
    expect(new Set(done.map((d) => d.pid)).size).toBe(1);
    // Four 800 ms tasks side by side, not one after another.
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it("runs the agent's own health check in the child, and fails the agent when it fails", async () => {
    const definition = await isolate(MODULE, { runIn: 'thread', export: 'checked' });
    const sb = createSwitchboard({ agents: [definition] });
    running.push(sb);
    const failed: Failed[] = [];
    sb.events.subscribe('agent.failed', (e) => {
      failed.push(e as unknown as Failed);
    });
    await sb.start();
    const first = (await sb.run({ capability: 'checked', payload: 'sicken' })) as {
      pid: number;
    };
    expect(first).toMatchObject({ pid: process.pid, sick: true });
    await expect.poll(() => failed.length, { timeout: 5_000 }).toBe(1);
    expect(failed[0]).toMatchObject({ reason: 'health_check' });
    // The restarted agent's child is healthy again, and its check is told which agent it is.
    const look = () => sb.run({ capability: 'checked', payload: 'look' });
    await expect.poll(look, { timeout: 5_000 }).toEqual({
      pid: process.pid,
      sick: false,
      checked: true,
    });
  });

  it('aborts the task context signal in the child when the task is cancelled', async () => {
    const { sb, run } = await start('process');
    await run({ do: 'echo' });
    const file = join(mkdtempSync(join(tmpdir(), 'sb-isolate-')), 'aborted');
    const handle = await sb.submit({ capability: 'work', payload: { do: 'until-aborted', file } });
    // Cancelled once its handler runs in the child, not merely leased.
    await expect.poll(() => existsSync(`${file}.started`), { timeout: 10_000 }).toBe(true);
    await handle.cancel();
    await expect.poll(() => existsSync(file), { timeout: 5_000 }).toBe(true);
    expect(readFileSync(file, 'utf8')).not.toBe('');
    expect(await sb.get(handle.id)).toMatchObject({ status: 'cancelled' });
  });

  it('rejects unknown options, naming the key and the known ones, and a bad module', async () => {
    await expect(
      isolate(MODULE, { runIn: 'thread', maxTasks: 2, memory: 1 } as never),
    ).rejects.toThrow(
      /unknown option "memory"; known: runIn, export, config, maxHeapMb, maxRssMb, maxTasks, execArgv, output, stopTimeoutMs/,
    );
    await expect(isolate(MODULE, { runIn: 'thread', output: 'console' } as never)).rejects.toThrow(
      /output must be one of prefix, inherit, ignore, got "console"/,
    );
    await expect(isolate(MODULE, { runIn: 'fiber' } as never)).rejects.toThrow(
      /runIn must be "thread" or "process"/,
    );
    await expect(isolate(MODULE, { runIn: 'thread', maxRssMb: 10 })).rejects.toThrow(
      /processes only/,
    );
    await expect(isolate('./relative.mjs', { runIn: 'thread' })).rejects.toThrow(/absolute path/);
    await expect(isolate(MODULE, { runIn: 'thread', export: 'other' })).rejects.toThrow(
      /no export "other"/,
    );
  });
});
