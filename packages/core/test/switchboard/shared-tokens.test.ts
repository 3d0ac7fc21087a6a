import { afterEach, describe, expect, it, vi } from 'vitest';
import { defineAgent } from '../../src/agent/definition.js';
import { createMemoryBackend } from '../../src/backends/memory/memory-backend.js';
import { LEASE_TOKEN_LENGTH } from '../../src/model/lease-token.js';
import type { TaskRecord } from '../../src/model/task.js';
import { nextTaskId } from '../../src/model/task-id.js';
import { createSwitchboard } from '../../src/switchboard.js';

afterEach(() => {
  vi.useRealTimers();
});

function queued(capability: string): TaskRecord {
  const now = Date.now();
  return {
    id: nextTaskId(),
    capability,
    payload: null,
    priority: 'normal',
    status: 'queued',
    attempts: 0,
    maxAttempts: 3,
    timeoutMs: 1000,
    availableAt: now,
    createdAt: now,
    updatedAt: now,
  };
}

describe('lease tokens shared by a batch for in-process agents', () => {
  it('the memory backend gives every task of a lease the token asked for, once per lease', async () => {
    const backend = createMemoryBackend();
    await backend.enqueue([queued('c'), queued('c')]);
    const now = Date.now();
    const leased = await backend.lease({ capability: 'c', agentId: 'x', max: 2, now, token: 'T' });
    expect(leased.map((t) => t.leaseToken)).toEqual(['T', 'T']);
    const [first, second] = leased as [TaskRecord, TaskRecord];
    // Each task answers to its own id: completing one leaves the other leased.
    await backend.complete(first.id, 'T', 1, now);
    expect((await backend.get(second.id))?.status).toBe('leased');
    await expect(
      backend.lease({ capability: 'c', agentId: 'x', max: 1, now, token: '' }),
    ).rejects.toMatchObject({ code: 'invalid_request' });
  });

  it('in-process tasks of one dispatch share a token; a remote agent gets one per task', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const sb = createSwitchboard({
      agents: [
        defineAgent({
          name: 'local',
          capabilities: ['in'],
          config: { maxConcurrency: 4 },
          handle: async () => gate,
        }),
      ],
    });
    try {
      const handles = await sb.submitMany(
        [1, 2, 3].map((payload) => ({ capability: 'in', payload })),
      );
      await sb.start();
      await vi.waitFor(async () => expect((await sb.get(handles[2]!.id)).status).toBe('leased'));
      const tokens = await Promise.all(handles.map(async (h) => (await sb.get(h.id)).leaseToken));
      expect(new Set(tokens).size).toBe(1);
      expect(tokens[0]).toHaveLength(LEASE_TOKEN_LENGTH);
      release();
      await Promise.all(handles.map((h) => h.result));

      const remote = sb.registerRemote({ name: 'r', capabilities: ['out'], maxConcurrency: 4 });
      const outs = await sb.submitMany([1, 2].map((payload) => ({ capability: 'out', payload })));
      const leases = await sb.lease(remote.id, { max: 2, waitMs: 1000 });
      expect(leases).toHaveLength(2);
      expect(leases[0]!.leaseToken).not.toBe(leases[1]!.leaseToken);
      for (const [i, lease] of leases.entries()) await sb.complete(lease.id, lease.leaseToken, i);
      await Promise.all(outs.map((h) => h.result));
    } finally {
      await sb.shutdown({ drain: false });
    }
  });

  it('a held task with a shared token never goes to a remote agent: it is handed back once only remote ones are left', async () => {
    vi.useFakeTimers();
    const remoteIds = new Set<string>();
    const sb = createSwitchboard({
      // Declines every in-process agent, so the task stays held with its shared token.
      loadBalancer: { name: 'remote-only', select: (c) => c.find((x) => remoteIds.has(x.id)) },
      agents: [defineAgent({ name: 'local', capabilities: ['g'], handle: () => 'local' })],
    });
    try {
      await sb.start();
      const handle = await sb.submit({ capability: 'g', timeoutMs: 1000 });
      await vi.advanceTimersByTimeAsync(10);
      // Held by the dispatcher (its submitter sees it queued): leased in the backend.
      expect(await sb.get(handle.id)).toMatchObject({ status: 'queued' });
      const held = (await sb.backend.get(handle.id)) as TaskRecord;
      expect(held).toMatchObject({ status: 'leased', attempts: 1 });
      const sharedToken = held.leaseToken; // the memory backend's record is live: keep the value
      const remote = sb.registerRemote({ name: 'r', capabilities: ['g'], maxConcurrency: 1 });
      remoteIds.add(remote.id);
      // An in-process agent is still there: the task stays held, the remote gets nothing.
      await expect(sb.lease(remote.id, { max: 1 })).resolves.toEqual([]);
      const [local] = sb.listAgents().filter((a) => a.name === 'local');
      await sb.removeAgent(local!.id);
      const wait = sb.lease(remote.id, { max: 1, waitMs: 5000 });
      await vi.advanceTimersByTimeAsync(10);
      const [lease] = await wait;
      expect(lease).toMatchObject({ id: handle.id, attempt: 2 });
      expect(lease!.leaseToken).not.toBe(sharedToken);
      await sb.complete(handle.id, lease!.leaseToken, 'remote');
      await expect(handle.result).resolves.toBe('remote');
    } finally {
      await sb.shutdown({ drain: false });
    }
  });
});
