import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { defineAgent } from '../../../src/agent/definition.js';
import type { RecoveryStrategy } from '../../../src/contracts/recovery.js';
import { SwitchboardError } from '../../../src/errors.js';
import type { TaskContext } from '../../../src/model/agent.js';
import { createSwitchboard, type Switchboard } from '../../../src/switchboard.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Crashes left in the test: a `{ crash: true }` task crashes the first agent that runs it. */
let crashes = 0;

/** An agent whose handler crashes it on a `{ crash: true }` payload, after `ms`. */
function agent(name: string, capabilities: string[], ms = 10) {
  return defineAgent({
    name,
    capabilities,
    handle: async (p: { crash?: boolean } | undefined, ctx: TaskContext) => {
      await sleep(ms);
      if (p?.crash && crashes-- > 0) throw new SwitchboardError('agent_failed', `${name} died`);
      return ctx.agentId;
    },
  });
}

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    return (error as SwitchboardError).code;
  }
}

const giveUp: RecoveryStrategy = {
  name: 'give-up',
  onAgentFailure: () => ({ action: 'give_up', reason: 'test' }),
};

let sb: Switchboard;
beforeEach(() => {
  crashes = 1;
  vi.useFakeTimers();
});
afterEach(async () => {
  await sb.shutdown({ drain: false });
  vi.useRealTimers();
});

describe('StandbyReserve', () => {
  it('keeps warm standbys started and healthy, but out of the work', async () => {
    sb = createSwitchboard({ agents: [{ definition: agent('w', ['x']), min: 2, standby: 2 }] });
    await sb.start();
    const standbys = sb.pool.backups.standbys('x');
    expect(standbys).toHaveLength(2);
    const handles = await sb.submitMany<string>(
      Array.from({ length: 20 }, () => ({ capability: 'x' })),
    );
    const results = Promise.all(handles.map((h) => h.result));
    await vi.advanceTimersByTimeAsync(200);
    const ran = new Set(await results);
    expect(ran.size).toBe(2);
    for (const s of standbys) {
      expect(ran.has(s.id)).toBe(false);
      expect(s.state).toBe('ready');
      expect(s.live).toBe(false);
    }
    expect(sb.pool.definitions()[0]).toMatchObject({ count: 2, standby: 2 });
    expect((await sb.stats()).agents.total).toBe(4);
    // A definition added at runtime gets its standbys too.
    await sb.addAgent(agent('v', ['v']), { standby: 1 });
    await vi.advanceTimersByTimeAsync(0);
    expect(sb.pool.backups.standbys('v')).toHaveLength(1);
    expect(sb.pool.agents('v')).toHaveLength(2);
  });

  it('keeps standbys per capability, from a named or the first fitting definition', async () => {
    sb = createSwitchboard({
      agents: [
        { definition: agent('a', ['x']), min: 1 },
        { definition: agent('b', ['x', 'y']), min: 0 },
      ],
    });
    sb.pool.backups.reserve('y', 1);
    await sb.start();
    expect(sb.pool.backups.standbys('y').map((m) => m.name)).toEqual(['b']);
    // A standby of 'b' serves 'x' too: one more is enough for two on 'x'.
    sb.pool.backups.reserve('x', 2, { definition: 'a' });
    await vi.advanceTimersByTimeAsync(0);
    expect(
      sb.pool.backups
        .standbys('x')
        .map((m) => m.name)
        .sort(),
    ).toEqual(['a', 'b']);
    expect(sb.pool.backups.targets()).toEqual([
      { capability: 'y', count: 1, definition: 'b' },
      { capability: 'x', count: 2, definition: 'a' },
    ]);
    sb.pool.backups.reserve('y', 0);
    expect(sb.pool.backups.targets().map((t) => t.capability)).toEqual(['x']);
    const backups = sb.pool.backups;
    expect(codeOf(() => backups.reserve('nope', 1))).toBe('not_found');
    expect(codeOf(() => backups.reserve('y', 1, { definition: 'ghost' }))).toBe('not_found');
    expect(codeOf(() => backups.reserve('y', 1, { definition: 'a' }))).toBe('invalid_request');
    expect(codeOf(() => backups.reserve('x', -1))).toBe('invalid_request');
    expect(codeOf(() => backups.reserve('', 1))).toBe('invalid_request');
  });

  it('promotes the standby of a capability left without a live agent', async () => {
    sb = createSwitchboard({
      agents: [
        { definition: agent('a', ['x', 'z']), min: 1 },
        { definition: agent('b', ['x']), min: 1 },
        { definition: agent('spare-y', ['y']), min: 0 },
        { definition: agent('spare-z', ['z']), min: 0 },
      ],
      recovery: giveUp,
    });
    sb.pool.backups.reserve('y', 1, { definition: 'spare-y' });
    sb.pool.backups.reserve('z', 1, { definition: 'spare-z' });
    await sb.start();
    const [spareY] = sb.pool.backups.standbys('y');
    const [spareZ] = sb.pool.backups.standbys('z');
    const crash = await sb.submit({ capability: 'z', payload: { crash: true } });
    await vi.advanceTimersByTimeAsync(15);
    // 'x' still has agent 'b'; 'z' had only the failed 'a'.
    expect(spareZ?.standby).toBe(false);
    expect(spareY?.standby).toBe(true);
    const retried = sb.waitFor(crash.id, 1_000);
    await vi.advanceTimersByTimeAsync(20);
    expect(await retried).toMatchObject({ status: 'completed', result: spareZ?.id });
    // Recovery gave up: the promoted standby is not replenished.
    await vi.advanceTimersByTimeAsync(1_000);
    expect(sb.pool.backups.standbys('z')).toHaveLength(0);
    expect(sb.pool.backups.promotions).toBe(1);
  });

  it('replaces a standby that fails its own health checks, without promoting it', async () => {
    const health = { ok: true };
    const spare = defineAgent({
      name: 'spare',
      capabilities: ['x'],
      config: { heartbeatIntervalMs: 100, heartbeatTimeoutMs: 300 },
      healthCheck: () => health.ok,
      handle: () => 'spare',
    });
    sb = createSwitchboard({
      agents: [
        { definition: agent('w', ['x']), min: 1 },
        { definition: spare, min: 0, standby: 1 },
      ],
    });
    const failed: Record<string, unknown>[] = [];
    sb.events.subscribe('agent.failed', (e) => {
      failed.push(e);
    });
    await sb.start();
    const [first] = sb.pool.backups.standbys();
    health.ok = false;
    await vi.advanceTimersByTimeAsync(400);
    expect(first?.gone).toBe(true);
    expect(failed).toEqual([expect.objectContaining({ agentId: first?.id, standby: true })]);
    health.ok = true;
    // The default recovery's restart delay (100 ms) paces the new standby.
    await vi.advanceTimersByTimeAsync(150);
    const [second] = sb.pool.backups.standbys();
    expect(second?.id).not.toBe(first?.id);
    expect(second).toMatchObject({ standby: true, state: 'ready' });
    expect(sb.pool.failover.stats()).toMatchObject({ failovers: 0, promotions: 0 });
    expect(sb.pool.agents('w')).toHaveLength(1);
  });

  it('does not promote for an agent that was draining, unless its capability is orphaned', async () => {
    sb = createSwitchboard({
      agents: [{ definition: agent('w', ['x'], 100), min: 2, standby: 1 }],
      recovery: giveUp,
    });
    const failed: unknown[] = [];
    sb.events.subscribe('agent.failed', (e) => {
      failed.push(e.agentId);
    });
    await sb.start();
    const [a, b] = sb.pool.agents('w').filter((m) => !m.standby);
    const handles = await sb.submitMany([
      { capability: 'x', payload: { crash: true } },
      { capability: 'x' },
    ]);
    await vi.advanceTimersByTimeAsync(1);
    expect([a?.running, b?.running]).toEqual([1, 1]);
    const removal = sb.removeAgent(a?.id as string, { drain: true });
    await vi.advanceTimersByTimeAsync(150);
    await removal;
    // It crashed on its last task while draining.
    expect(failed).toEqual([a?.id]);
    // 'b' still serves 'x': the standby stays a standby, and no agent replaces the drained one.
    expect(sb.pool.backups.standbys('x')).toHaveLength(1);
    expect(sb.pool.agents('w').filter((m) => !m.standby)).toEqual([b]);
    await vi.advanceTimersByTimeAsync(300);
    expect((await sb.get(handles[0]?.id as string)).status).toBe('completed');
  });
});
