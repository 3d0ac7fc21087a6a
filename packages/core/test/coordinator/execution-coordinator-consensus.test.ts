import { afterEach, describe, expect, it, vi } from 'vitest';
import { defineAgent } from '../../src/agent/definition.js';
import { ExecutionCoordinator } from '../../src/coordinator/execution-coordinator.js';
import type { TaskContext } from '../../src/model/agent.js';
import { createSwitchboard, type Switchboard } from '../../src/switchboard.js';
import { rejection as rejectionOf } from '../rejection.js';

let boards: Switchboard[] = [];

afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(boards.map((sb) => sb.shutdown({ drain: false })));
  boards = [];
});

type Answer = (ctx: TaskContext) => unknown;

/**
 * A Switchboard with one `vote` agent per answer (one task at a time each, so the replicas
 * of a vote spread over them); `seen` records each task's context.
 */
async function voters(...answers: Answer[]) {
  const seen: TaskContext[] = [];
  const agents = answers.map((answer, i) =>
    defineAgent({
      name: `voter-${i}`,
      capabilities: ['vote'],
      handle: (_: unknown, ctx: TaskContext) => {
        seen.push(ctx);
        return answer(ctx);
      },
    }),
  );
  const sb = createSwitchboard({ agents, defaultMaxAttempts: 1 });
  boards.push(sb);
  await sb.start();
  return { sb, seen, coordinator: new ExecutionCoordinator(sb) };
}

const after =
  <T>(ms: number, value: T) =>
  () =>
    new Promise<T>((resolve) => setTimeout(() => resolve(value), ms));
const never = () => new Promise(() => undefined);

describe('consensus', () => {
  it('accepts the answer a quorum agrees on despite one dissenting agent', async () => {
    const { coordinator, seen } = await voters(
      () => 42,
      () => 41,
      after(2, 42),
    );
    const result = await coordinator.consensus<number>({
      capability: 'vote',
      payload: 'the answer?',
      agents: 3,
      quorum: 2,
    });
    expect(result.value).toBe(42);
    expect(result.votes).toBe(2);
    expect(result.answers.map((a) => [a.value, a.count])).toEqual([
      [42, 2],
      [41, 1],
    ]);
    expect(result.failures).toEqual([]);
    // Each replica is tagged with the vote and its index, and here landed on its own agent.
    const group = seen[0]?.metadata.consensusGroup;
    expect(typeof group).toBe('string');
    expect(seen.map((ctx) => ctx.metadata.consensusGroup)).toEqual([group, group, group]);
    expect(seen.map((ctx) => ctx.metadata.replica).sort()).toEqual([0, 1, 2]);
    expect(new Set(seen.map((ctx) => ctx.agentId)).size).toBe(3);
  });

  it('finishes as soon as a quorum agrees, cancelling the replicas still running', async () => {
    const { sb, coordinator, seen } = await voters(
      () => ({ verdict: 'yes', score: 1 }),
      () => ({ score: 1, verdict: 'yes' }),
      never,
    );
    const result = await coordinator.consensus({ capability: 'vote', agents: 3 });
    expect(result.value).toEqual({ verdict: 'yes', score: 1 });
    expect(result.taskIds).toHaveLength(3);
    const statuses = await Promise.all(result.taskIds.map(async (id) => (await sb.get(id)).status));
    expect(statuses.sort()).toEqual(['cancelled', 'completed', 'completed']);
    const hung = seen.find((ctx) => ctx.agentId === seen[2]?.agentId) as TaskContext;
    expect((await sb.get(hung.taskId)).status).toBe('cancelled');
  });

  it('fails with task_failed listing each distinct answer and its count when no quorum agrees', async () => {
    const { coordinator } = await voters(
      () => 'paris',
      () => 'lyon',
      () => {
        throw new Error('model overloaded');
      },
    );
    const error = await rejectionOf(
      coordinator.consensus({ capability: 'vote', agents: 3, quorum: 2 }),
    );
    expect(error.code).toBe('task_failed');
    expect(error.message).toMatch(/no quorum \(2 of 3 needed, best answer had 1\)/);
    const details = error.details as {
      answers: { value: unknown; count: number }[];
      failures: { message: string; code: string }[];
    };
    expect(details.answers.map((a) => a.value).sort()).toEqual(['lyon', 'paris']);
    expect(details.answers.map((a) => a.count)).toEqual([1, 1]);
    expect(details.failures).toHaveLength(1);
    expect(details.failures[0]?.message).toContain('model overloaded');
  });

  it('groups answers with a custom comparison', async () => {
    const { coordinator } = await voters(
      () => 1.2345,
      () => 9.87,
      after(2, 1.2349),
    );
    const result = await coordinator.consensus<number>({
      capability: 'vote',
      agents: 3,
      quorum: 2,
      compare: (a, b) => Math.abs(a - b) < 0.001,
    });
    expect(result.value).toBe(1.2345);
    expect(result.answers[0]?.count).toBe(2);
    // The default (exact JSON) comparison sees three different answers.
    await expect(
      coordinator.consensus({ capability: 'vote', agents: 3, quorum: 2 }),
    ).rejects.toMatchObject({
      code: 'task_failed',
    });
  });

  it('a comparison that throws rejects the vote with its error', async () => {
    const { coordinator } = await voters(
      () => 1,
      () => 1,
    );
    const compare = () => {
      throw new Error('cannot compare');
    };
    await expect(
      coordinator.consensus({ capability: 'vote', agents: 2, quorum: 2, compare }),
    ).rejects.toThrow('cannot compare');
  });

  it('times out without a quorum, each replica limited to the time left', async () => {
    vi.useFakeTimers();
    const { sb, coordinator } = await voters(never, never, never);
    const vote = rejectionOf(
      coordinator.consensus({ capability: 'vote', agents: 3, timeoutMs: 100 }),
    );
    await vi.advanceTimersByTimeAsync(100);
    const error = await vote;
    expect(error.code).toBe('timeout');
    const ids = (error.details as { taskIds: string[] }).taskIds;
    expect(ids).toHaveLength(3);
    for (const id of ids) {
      const task = await sb.get(id);
      expect(task.timeoutMs).toBeLessThanOrEqual(100);
      expect(task.status).toBe('cancelled');
    }
  });

  it('cancels every replica when its signal aborts', async () => {
    const { sb, coordinator, seen } = await voters(never, never);
    const controller = new AbortController();
    const vote = rejectionOf(
      coordinator.consensus({ capability: 'vote', agents: 2, signal: controller.signal }),
    );
    await vi.waitFor(() => expect(seen).toHaveLength(2));
    controller.abort();
    expect((await vote).code).toBe('cancelled');
    for (const ctx of seen) expect((await sb.get(ctx.taskId)).status).toBe('cancelled');
    const aborted = coordinator.consensus({
      capability: 'vote',
      agents: 1,
      signal: AbortSignal.abort(),
    });
    await expect(aborted).rejects.toMatchObject({ code: 'cancelled' });
  });

  it('rejects a vote that could never reach its quorum before submitting', async () => {
    const { coordinator, seen } = await voters(() => 1);
    await expect(
      coordinator.consensus({ capability: 'vote', agents: 2, quorum: 3 }),
    ).rejects.toMatchObject({
      code: 'invalid_request',
    });
    await expect(coordinator.consensus({ capability: '', agents: 1 })).rejects.toMatchObject({
      code: 'invalid_request',
    });
    expect(seen).toHaveLength(0);
  });
});
