import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { defineAgent } from '../../../src/agent/definition.js';
import {
  createMemoryBackend,
  type MemoryBackend,
} from '../../../src/backends/memory/memory-backend.js';
import type { AgentDirectory } from '../../../src/contracts/agent-directory.js';
import type { Backend } from '../../../src/contracts/backend.js';
import type { ClusterChannel } from '../../../src/contracts/cluster-channel.js';
import { CLUSTER_SWEEP_MS } from '../../../src/runtime/leases/lease-book.js';
import { createSwitchboard, type Switchboard } from '../../../src/switchboard.js';

// Two Switchboards over ONE memory backend stand for two processes over one Redis: the
// tasks and leases are shared. The directory and channel are inert (nothing to share here
// but the fact that the backend spans processes, which is what turns the periodic sweep on).
const directory: AgentDirectory = {
  put: async () => undefined,
  touch: async () => undefined,
  remove: async () => false,
  get: async () => undefined,
  list: async () => [],
};
const channel: ClusterChannel = { publish: () => undefined, subscribe: () => () => undefined };

/** A view of `shared` for one process: its own `close` (a no-op) and counted sweeps. */
function processView(shared: MemoryBackend): Backend & { sweeps: number } {
  const view = Object.assign(Object.create(shared) as MemoryBackend, {
    agents: directory,
    cluster: channel,
    sweeps: 0,
    close: async () => undefined,
    expireLeases(now: number) {
      view.sweeps++;
      return shared.expireLeases(now);
    },
  });
  return view;
}

let open: Switchboard[] = [];
beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(async () => {
  await Promise.all(open.map((sb) => sb.shutdown({ drain: false })));
  open = [];
  vi.useRealTimers();
});

describe('lease sweeps on a backend several processes share', () => {
  it('an idle process requeues the leases a dead process left, within a sweep interval', async () => {
    const shared = createMemoryBackend();
    const seen: unknown[] = [];
    const b = createSwitchboard({
      backend: processView(shared),
      agents: [defineAgent({ name: 'w', capabilities: ['x'], handle: (p) => seen.push(p) })],
    });
    open.push(b);
    // Queued through B before its agent starts, then leased by a process that then died.
    const [handle] = await b.submitMany([{ capability: 'x', payload: 'orphan', timeoutMs: 50 }]);
    const [lost] = await shared.lease({
      capability: 'x',
      agentId: 'gone',
      max: 1,
      now: Date.now(),
    });
    expect(lost?.id).toBe(handle?.id);
    await b.start();
    await vi.advanceTimersByTimeAsync(100);
    expect(seen).toEqual([]);
    await vi.advanceTimersByTimeAsync(CLUSTER_SWEEP_MS);
    expect(seen).toEqual(['orphan']);
    expect(await handle?.result).toBe(1);
    expect((await b.get(handle?.id as string)).attempts).toBe(2);
  });

  it('forgets a lease ended through another process, without sweeping again at once', async () => {
    const shared = createMemoryBackend();
    const view = processView(shared);
    const a = createSwitchboard({ backend: view, heartbeatTimeoutMs: 60_000 });
    open.push(a);
    await a.start();
    const agent = a.registerRemote({ name: 'r', capabilities: ['x'] });
    const { id } = await a.submit({ capability: 'x', timeoutMs: 100 });
    const [lease] = await a.lease(agent.id, { max: 1 });
    expect(lease?.id).toBe(id);
    expect(a.getAgent(agent.id).activeTasks).toBe(1);
    // The agent completed through another process, whose notice to this one was lost.
    await shared.complete(id, lease?.leaseToken as string, 'done', Date.now());

    const before = view.sweeps;
    await vi.advanceTimersByTimeAsync(150);
    expect(a.getAgent(agent.id).activeTasks).toBe(0);
    expect((await a.get(id)).status).toBe('completed');
    // One sweep at the lease's expiry; the next one a cluster interval later, not a spin.
    expect(view.sweeps - before).toBe(1);
    await vi.advanceTimersByTimeAsync(CLUSTER_SWEEP_MS);
    expect(view.sweeps - before).toBe(2);
  });
});

describe('cluster background work at shutdown', () => {
  it('drops a directory refresh that fails after shutdown began, instead of reporting it', async () => {
    let fail: ((error: Error) => void) | undefined;
    const slow: AgentDirectory = {
      ...directory,
      // The first load answers at once; the refreshes hang until the test fails them.
      list: vi
        .fn<AgentDirectory['list']>()
        .mockResolvedValueOnce([])
        .mockImplementation(() => new Promise((_, reject) => (fail = reject))),
    };
    const errors: unknown[] = [];
    const sb = createSwitchboard({
      backend: Object.assign(createMemoryBackend(), { agents: slow, cluster: channel }),
      heartbeatIntervalMs: 50,
      onError: (error) => errors.push(error),
    });
    await sb.start();
    await vi.advanceTimersByTimeAsync(50);
    expect(slow.list).toHaveBeenCalledTimes(2);
    await sb.shutdown();
    fail?.(new Error('connection closed'));
    await vi.advanceTimersByTimeAsync(200);
    expect(errors).toEqual([]);
    expect(slow.list).toHaveBeenCalledTimes(2);
  });
});

describe('lease sweeps while the backend is unreachable', () => {
  it('backs off instead of retrying an overdue lease at once, and logs by default', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const view = processView(createMemoryBackend());
    const sb = createSwitchboard({ backend: view, heartbeatTimeoutMs: 60_000 });
    open.push(sb);
    await sb.start();
    const agent = sb.registerRemote({ name: 'r', capabilities: ['x'] });
    await sb.submit({ capability: 'x', timeoutMs: 50 });
    await sb.lease(agent.id, { max: 1 });
    // The backend goes away: every sweep from now on fails.
    view.expireLeases = async () => {
      view.sweeps++;
      throw new Error('connection lost');
    };
    const before = view.sweeps;
    await vi.advanceTimersByTimeAsync(1_050);
    // At the lease's expiry, then every 500 ms: not a tight loop on the overdue lease.
    expect(view.sweeps - before).toBeGreaterThanOrEqual(2);
    expect(view.sweeps - before).toBeLessThanOrEqual(3);
    expect(logged).toHaveBeenCalledWith('[switchboard] background error:', expect.any(Error));
    logged.mockRestore();
  });
});
