import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { SwitchboardError } from '../../src/errors.js';
import { createSwitchboard, type Switchboard } from '../../src/switchboard.js';

async function codeOf(run: () => unknown): Promise<string | undefined> {
  try {
    await run();
    return undefined;
  } catch (error) {
    return (error as SwitchboardError).code;
  }
}

let sb: Switchboard;
beforeEach(async () => {
  vi.useFakeTimers();
  sb = createSwitchboard({ heartbeatIntervalMs: 1000, heartbeatTimeoutMs: 3000 });
  await sb.start();
});
afterEach(async () => {
  await sb.shutdown({ drain: false });
  vi.useRealTimers();
});

describe('remote agents', () => {
  it('registers, leases, completes; the task result reaches the submitter', async () => {
    const view = sb.registerRemote({
      name: 'browser-1',
      capabilities: ['browser', { name: 'llm', version: '2' }],
      maxConcurrency: 2,
    });
    expect(view).toMatchObject({
      name: 'browser-1',
      role: 'worker',
      state: 'ready',
      maxConcurrency: 2,
      activeTasks: 0,
      heartbeatIntervalMs: 1000,
      heartbeatTimeoutMs: 3000,
    });
    expect(view.capabilities[1]).toMatchObject({ name: 'llm', version: '2' });
    const handle = await sb.submit({
      capability: 'browser',
      payload: { url: 'x' },
      sessionKey: 's1',
    });
    const [lease] = await sb.lease(view.id, { max: 5 });
    expect(lease).toMatchObject({
      id: handle.id,
      capability: 'browser',
      payload: { url: 'x' },
      priority: 'normal',
      attempt: 1,
      sessionKey: 's1',
    });
    expect(sb.getAgent(view.id).activeTasks).toBe(1);
    expect((await sb.get(handle.id)).agentId).toBe(view.id);
    const done = await sb.complete(handle.id, lease?.leaseToken as string, { title: 'ok' });
    expect(done.status).toBe('completed');
    await expect(handle.result).resolves.toEqual({ title: 'ok' });
    expect(sb.getAgent(view.id).activeTasks).toBe(0);
    // A second complete with the same token: conflict.
    expect(await codeOf(() => sb.complete(handle.id, lease?.leaseToken as string, 1))).toBe(
      'conflict',
    );
  });

  it('a long-poll is woken by a submit, without polling', async () => {
    const { id } = sb.registerRemote({ name: 'w', capabilities: ['job'] });
    let answered: unknown;
    const poll = sb.lease(id, { waitMs: 10_000 }).then((tasks) => {
      answered = tasks;
      return tasks;
    });
    await vi.advanceTimersByTimeAsync(5000);
    expect(answered).toBeUndefined();
    const handle = await sb.submit({ capability: 'job', payload: 1 });
    await vi.advanceTimersByTimeAsync(0);
    const tasks = await poll;
    expect(tasks.map((t) => t.id)).toEqual([handle.id]);
  });

  it('an open long-poll keeps the agent alive; aborting its signal ends it with []', async () => {
    const { id } = sb.registerRemote({ name: 'w', capabilities: ['job'] });
    const controller = new AbortController();
    const poll = sb.lease(id, { waitMs: 30_000, signal: controller.signal });
    await vi.advanceTimersByTimeAsync(20_000);
    expect(sb.getAgent(id).state).toBe('ready');
    controller.abort();
    await expect(poll).resolves.toEqual([]);
    await vi.advanceTimersByTimeAsync(3100);
    expect(await codeOf(() => sb.getAgent(id))).toBe('not_found');
  });

  it('a long-poll answers [] after waitMs, and a no-wait poll at once', async () => {
    const { id } = sb.registerRemote({ name: 'w', capabilities: ['job'] });
    await expect(sb.lease(id)).resolves.toEqual([]);
    const poll = sb.lease(id, { waitMs: 2000 });
    await vi.advanceTimersByTimeAsync(2000);
    await expect(poll).resolves.toEqual([]);
  });

  it('never hands out more than the free concurrency', async () => {
    const { id } = sb.registerRemote({ name: 'w', capabilities: ['job'], maxConcurrency: 3 });
    await sb.submitMany(Array.from({ length: 10 }, (_, i) => ({ capability: 'job', payload: i })));
    const first = await sb.lease(id, { max: 2 });
    expect(first).toHaveLength(2);
    const second = await sb.lease(id, { max: 10 });
    expect(second).toHaveLength(1);
    expect(await sb.lease(id, { max: 10 })).toEqual([]);
    await sb.complete(first[0]?.id as string, first[0]?.leaseToken as string, 'ok');
    expect(await sb.lease(id, { max: 10 })).toHaveLength(1);
  });

  it('fail retries with backoff while attempts remain, then dead-letters', async () => {
    const { id } = sb.registerRemote({ name: 'w', capabilities: ['job'] });
    const handle = await sb.submit({ capability: 'job', maxAttempts: 2 });
    const [lease] = await sb.lease(id);
    const failed = await sb.fail(handle.id, lease?.leaseToken as string, { message: 'flaky' });
    expect(failed).toMatchObject({ status: 'queued', attempts: 1 });
    expect(await sb.lease(id)).toEqual([]);
    const retry = sb.lease(id, { waitMs: 5000 });
    await vi.advanceTimersByTimeAsync(200);
    const [second] = await retry;
    expect(second?.attempt).toBe(2);
    const dead = await sb.fail(handle.id, second?.leaseToken as string, { message: 'still flaky' });
    expect(dead).toMatchObject({ status: 'dead', error: { message: 'still flaky' } });
    expect(await codeOf(() => handle.result)).toBe('task_failed');
    // A non-retryable failure is dead at once.
    const other = await sb.submit({ capability: 'job', maxAttempts: 5 });
    const [l3] = await sb.lease(id);
    const r = await sb.fail(other.id, l3?.leaseToken as string, {
      message: 'bad',
      retryable: false,
    });
    expect(r.status).toBe('dead');
  });

  it('extend moves the expiry; a stale or foreign token answers conflict', async () => {
    const { id } = sb.registerRemote({ name: 'w', capabilities: ['job'] });
    const handle = await sb.submit({ capability: 'job', timeoutMs: 1000 });
    const [lease] = await sb.lease(id);
    const token = lease?.leaseToken as string;
    const extended = await sb.extend(handle.id, token, 5000);
    expect(extended.leaseExpiresAt).toBe(Date.now() + 5000);
    await vi.advanceTimersByTimeAsync(2000);
    sb.heartbeat(id);
    expect((await sb.get(handle.id)).status).toBe('leased');
    expect(await codeOf(() => sb.extend(handle.id, 'foreign', 100))).toBe('conflict');
    expect(await codeOf(() => sb.fail(handle.id, 'foreign', { message: 'x' }))).toBe('conflict');
    expect(await codeOf(() => sb.complete(handle.id, 'foreign', 1))).toBe('conflict');
    expect(await codeOf(() => sb.extend(handle.id, token, 0))).toBe('invalid_request');
    // Expiry: the lease ends, the task goes back to the queue with its attempt counted.
    await vi.advanceTimersByTimeAsync(1600);
    sb.heartbeat(id);
    await vi.advanceTimersByTimeAsync(1500);
    expect(await sb.get(handle.id)).toMatchObject({ status: 'queued', attempts: 1 });
    expect(await codeOf(() => sb.complete(handle.id, token, 1))).toBe('conflict');
    expect(sb.getAgent(id).activeTasks).toBe(0);
  });

  it('a cancelled task’s lease answers conflict on complete', async () => {
    const { id } = sb.registerRemote({ name: 'w', capabilities: ['job'] });
    const handle = await sb.submit({ capability: 'job' });
    const [lease] = await sb.lease(id);
    await sb.cancel(handle.id);
    expect(sb.getAgent(id).activeTasks).toBe(0);
    expect(await codeOf(() => sb.complete(handle.id, lease?.leaseToken as string, 1))).toBe(
      'conflict',
    );
    expect(await codeOf(() => handle.result)).toBe('cancelled');
  });

  it('missed heartbeats fail the agent: its tasks go to another agent, its next heartbeat is not_found', async () => {
    const a = sb.registerRemote({ name: 'a', capabilities: ['job'] });
    const b = sb.registerRemote({ name: 'b', capabilities: ['job'] });
    const handle = await sb.submit({ capability: 'job' });
    const [lease] = await sb.lease(a.id);
    expect(lease?.id).toBe(handle.id);
    const failed: { at: number; agentId: unknown }[] = [];
    sb.events.subscribe('agent.failed', (e) => {
      failed.push({ at: e.at, agentId: e.agentId });
    });
    let takenAt = 0;
    const takeover = sb.lease(b.id, { waitMs: 30_000 }).then((tasks) => {
      takenAt = Date.now();
      return tasks;
    });
    for (let t = 0; t < 3; t++) {
      await vi.advanceTimersByTimeAsync(1000);
      sb.heartbeat(b.id);
    }
    await vi.advanceTimersByTimeAsync(200);
    const [moved] = await takeover;
    expect(moved).toMatchObject({ id: handle.id, attempt: 2 });
    expect(failed.map((f) => f.agentId)).toEqual([a.id]);
    expect(takenAt - (failed[0]?.at ?? 0)).toBeLessThanOrEqual(250);
    expect(await codeOf(() => sb.heartbeat(a.id))).toBe('not_found');
    expect(await codeOf(() => sb.lease(a.id))).toBe('not_found');
    expect(await codeOf(() => sb.complete(handle.id, lease?.leaseToken as string, 1))).toBe(
      'conflict',
    );
    expect(sb.listAgents().map((x) => x.id)).toEqual([b.id]);
  });

  it('leave puts the leased tasks back to the queue at once', async () => {
    const { id } = sb.registerRemote({ name: 'w', capabilities: ['job'], maxConcurrency: 2 });
    const handles = await sb.submitMany([{ capability: 'job' }, { capability: 'job' }]);
    expect(await sb.lease(id, { max: 2 })).toHaveLength(2);
    await sb.leave(id);
    for (const h of handles) expect((await sb.get(h.id)).status).toBe('queued');
    expect(await codeOf(() => sb.getAgent(id))).toBe('not_found');
  });

  it('registers an agent without a name under its id', () => {
    const view = sb.registerRemote({ capabilities: ['x'] });
    expect(view.name).toBe(view.id);
    expect(sb.registerRemote({ capabilities: ['x'], id: 'named-by-id' }).name).toBe('named-by-id');
  });

  it('validates registrations and lease options', async () => {
    expect(await codeOf(() => sb.registerRemote({ name: '', capabilities: ['x'] }))).toBe(
      'invalid_request',
    );
    expect(await codeOf(() => sb.registerRemote({ name: 'a', capabilities: [] }))).toBe(
      'invalid_request',
    );
    expect(
      await codeOf(() => sb.registerRemote({ name: 'a', capabilities: ['x'], maxConcurrency: 0 })),
    ).toBe('invalid_request');
    const { id } = sb.registerRemote({ name: 'a', capabilities: ['x'], id: 'fixed' });
    expect(id).toBe('fixed');
    expect(
      await codeOf(() => sb.registerRemote({ name: 'b', capabilities: ['x'], id: 'fixed' })),
    ).toBe('conflict');
    expect(await codeOf(() => sb.lease(id, { max: 0 }))).toBe('invalid_request');
    expect(await codeOf(() => sb.lease(id, { waitMs: 30_001 }))).toBe('invalid_request');
    expect(await codeOf(() => sb.lease('ghost'))).toBe('not_found');
    expect(sb.heartbeat(id, { cpuUsage: 0.5 }).lastHeartbeatAt).toBe(Date.now());
  });
});
