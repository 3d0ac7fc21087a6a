import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import type { AgentInitContext } from '../../src/agent/definition.js';
import { defineAgent } from '../../src/agent/definition.js';
import type { AgentFailure } from '../../src/contracts/recovery.js';
import { createSwitchboard } from '../../src/switchboard.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("an agent's init context fail", () => {
  it('fails the agent over at once, with the reason given, and the recovery restarts it', async () => {
    const contexts: AgentInitContext[] = [];
    const worker = defineAgent({
      name: 'worker',
      capabilities: ['job'],
      init: (ctx) => {
        contexts.push(ctx);
      },
      handle: (n: number) => n,
    });
    const seen: AgentFailure[] = [];
    const sb = createSwitchboard({
      agents: [worker],
      recovery: {
        name: 'test-recovery',
        onAgentFailure: (f) => {
          seen.push(f);
          return { action: 'restart', delayMs: 10 };
        },
      },
    });
    const failed: unknown[] = [];
    sb.events.subscribe('agent.failed', (e) => {
      failed.push(e);
    });
    await sb.start();
    const first = contexts[0] as AgentInitContext;
    first.fail(new Error('thread died'), 'hung');
    // A second report of the same break is ignored.
    first.fail(new Error('again'));
    await vi.advanceTimersByTimeAsync(50);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ agentId: first.agentId, reason: 'hung' });
    expect(failed).toEqual([
      expect.objectContaining({ agentId: first.agentId, reason: 'hung', error: 'thread died' }),
    ]);
    const agents = sb.pool.agents('worker');
    expect(agents.map((a) => a.id)).not.toContain(first.agentId);
    expect(contexts).toHaveLength(2);
    const handle = await sb.submit({ capability: 'job', payload: 7 });
    await vi.advanceTimersByTimeAsync(10);
    expect(await handle.result).toBe(7);
    await sb.shutdown();
  });

  it('moves an agent outside a Switchboard to recovering, so that it takes no more work', async () => {
    let fail: AgentInitContext['fail'] | undefined;
    const agent = new Agent(
      defineAgent({
        name: 'solo',
        capabilities: ['job'],
        init: (ctx) => {
          fail = ctx.fail;
        },
        handle: (n: number) => n,
      }),
    );
    await agent.start();
    fail?.(new Error('process exited'));
    expect(agent.state).toBe('recovering');
    await expect(agent.execute(1)).rejects.toMatchObject({ code: 'unavailable' });
  });
});
