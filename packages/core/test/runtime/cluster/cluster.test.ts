import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryBackend } from '../../../src/backends/memory/memory-backend.js';
import {
  type AgentDirectory,
  type AgentRecord,
  isAgentLive,
} from '../../../src/contracts/agent-directory.js';
import type { ClusterChannel, ClusterMessage } from '../../../src/contracts/cluster-channel.js';
import type { BusEvent } from '../../../src/events/event-bus.js';
import { ClusterEventBus } from '../../../src/runtime/cluster/cluster-event-bus.js';
import { TaskTracker } from '../../../src/runtime/submit/task-tracker.js';
import { createSwitchboard, type Switchboard } from '../../../src/switchboard.js';

// A tiny in-test stand-in for what a shared backend provides: a directory in a Map and a
// broadcast that, like pub/sub, delivers every message (as JSON) to every subscriber, the
// sender included, a tick later. Tasks are not shared (memory backends): only the registry,
// the events and the failover rules are under test here; the Redis tests cover the rest.
class Hub {
  readonly records = new Map<string, AgentRecord>();
  readonly listeners = new Set<(m: ClusterMessage) => void>();
  readonly directory: AgentDirectory = {
    put: async (record) => {
      this.records.set(record.id, structuredClone(record));
    },
    touch: async (id, owner, now) => {
      const r = this.records.get(id);
      if (r === undefined || !isAgentLive(r, now)) return undefined;
      r.lastHeartbeatAt = now;
      r.owner = owner;
      return structuredClone(r);
    },
    remove: async (id, options = {}) => {
      const r = this.records.get(id);
      if (r === undefined) return false;
      if (options.staleAt !== undefined && isAgentLive(r, options.staleAt)) return false;
      return this.records.delete(id);
    },
    get: async (id) => structuredClone(this.records.get(id)),
    list: async () => [...this.records.values()].map((r) => structuredClone(r)),
  };
  readonly channel: ClusterChannel = {
    publish: (message) => {
      const text = JSON.stringify(message);
      setTimeout(() => {
        for (const l of this.listeners) l(JSON.parse(text));
      }, 1);
    },
    subscribe: (listener) => {
      this.listeners.add(listener);
      return () => this.listeners.delete(listener);
    },
  };
}

let open: Switchboard[] = [];
afterEach(async () => {
  await Promise.all(open.map((sb) => sb.shutdown({ drain: false })));
  open = [];
});

async function pair(hub = new Hub()): Promise<[Switchboard, Switchboard, Hub]> {
  const make = () => {
    const backend = Object.assign(createMemoryBackend(), {
      agents: hub.directory,
      cluster: hub.channel,
    });
    return createSwitchboard({
      backend,
      heartbeatIntervalMs: 20,
      heartbeatTimeoutMs: 100,
      healthSweepIntervalMs: 5,
    });
  };
  const [a, b] = [make(), make()];
  await Promise.all([a.start(), b.start()]);
  open.push(a, b);
  return [a, b, hub];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(check: () => boolean, ms = 1_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(2);
  }
}

describe('cluster: events', () => {
  it('forwards only topics another process listens to, and never echoes them back', async () => {
    const [a, b] = await pair();
    const onA: BusEvent[] = [];
    const onB: BusEvent[] = [];
    a.events.subscribe('user.*', (e) => {
      onA.push(e);
    });
    expect(b.events.hasSubscribers('other.x')).toBe(false);
    await until(() => b.events.hasSubscribers('user.x'));
    b.events.subscribe('user.*', (e) => {
      onB.push(e);
    });
    await sleep(20);
    a.events.publish('user.x', { n: 1 });
    b.events.publish('user.y', { n: 2 });
    await sleep(20);
    const seen = (list: BusEvent[]) =>
      list.map((e) => [e.topic, e.n, typeof e.origin]).sort((x, y) => Number(x[1]) - Number(y[1]));
    expect(seen(onA)).toEqual([
      ['user.x', 1, 'undefined'],
      ['user.y', 2, 'string'],
    ]);
    expect(seen(onB)).toEqual([
      ['user.x', 1, 'string'],
      ['user.y', 2, 'undefined'],
    ]);
  });

  it('withdraws interest when a once-subscription fires', async () => {
    const [a, b] = await pair();
    a.events.once('user.*', () => undefined);
    await until(() => b.events.hasSubscribers('user.z'));
    b.events.publish('user.z', {});
    await until(() => !b.events.hasSubscribers('user.z'));
  });

  it('mutes every event inside quietly()', () => {
    const bus = new ClusterEventBus();
    const seen: string[] = [];
    bus.subscribe('**', (e) => {
      seen.push(e.topic);
    });
    expect(bus.quietly(() => bus.hasSubscribers('a.b'))).toBe(false);
    bus.quietly(() => bus.publish('a.b', {}));
    bus.quietly(() => bus.deliverRemote('a.c', {}));
    bus.publish('a.d', {});
    bus.setPeerPatterns(['not..valid', 'x.*']);
    expect(seen).toEqual(['a.d']);
  });
});

describe('cluster: agents', () => {
  it('shows an agent registered on A on B, adopts it on a heartbeat there, quietly', async () => {
    const [a, b] = await pair();
    const registered: BusEvent[] = [];
    b.events.subscribe('agent.registered', (e) => {
      registered.push(e);
    });
    const agent = a.registerRemote({ name: 'w', capabilities: ['job'], maxConcurrency: 3 });
    await until(() => b.listAgents().length === 1);
    expect(b.getAgent(agent.id)).toMatchObject({ name: 'w', maxConcurrency: 3, activeTasks: 0 });
    expect(() => b.registerRemote({ name: 'x', capabilities: ['job'], id: agent.id })).toThrow(
      /already registered/,
    );
    expect(b.heartbeat(agent.id).id).toBe(agent.id);
    // Adopted: a member of B now, listed once, and no second agent.registered anywhere.
    expect(b.listAgents().map((x) => x.id)).toEqual([agent.id]);
    expect(registered.filter((e) => e.origin === undefined)).toEqual([]);
    expect(() => b.getAgent('nobody')).toThrow(/no agent/);
  });

  it('keeps on A an agent that now heartbeats only on B, without failing it', async () => {
    const [a, b] = await pair();
    const failed: BusEvent[] = [];
    a.events.subscribe('agent.failed', (e) => {
      failed.push(e);
    });
    const agent = a.registerRemote({ name: 'w', capabilities: ['job'] });
    await until(() => b.listAgents().length === 1);
    for (let i = 0; i < 20; i++) {
      b.heartbeat(agent.id);
      await sleep(15);
    }
    expect(failed).toEqual([]);
    expect(a.getAgent(agent.id).state).toBe('ready');
  });

  it('fails a dead agent held by two processes over once, and forgets it everywhere', async () => {
    const [a, b, hub] = await pair();
    const failed: BusEvent[] = [];
    a.events.subscribe('agent.failed', (e) => {
      failed.push(e);
    });
    b.events.subscribe('agent.failed', (e) => {
      failed.push(e);
    });
    const agent = a.registerRemote({ name: 'w', capabilities: ['job'] });
    await until(() => b.listAgents().length === 1);
    b.heartbeat(agent.id);
    await until(() => failed.length > 0);
    await sleep(60);
    expect(failed.filter((e) => e.origin === undefined)).toHaveLength(1);
    expect(hub.records.size).toBe(0);
    expect(a.listAgents()).toEqual([]);
    expect(b.listAgents()).toEqual([]);
    expect(() => b.heartbeat(agent.id)).toThrow(/register again/);
  });

  it('lets an agent leave through a process that only knew it from the directory', async () => {
    const [a, b, hub] = await pair();
    const agent = a.registerRemote({ name: 'w', capabilities: ['job'] });
    await until(() => hub.records.size === 1);
    await b.leave(agent.id);
    await until(() => a.listAgents().length === 0);
    expect(hub.records.size).toBe(0);
    await expect(b.leave(agent.id)).rejects.toThrow(/register again/);
  });

  it('adopts on a lease poll an agent only the directory knows', async () => {
    const [, b, hub] = await pair();
    const now = Date.now();
    await hub.directory.put({
      id: 'far',
      name: 'w',
      role: 'worker',
      version: '1',
      capabilities: [{ name: 'job', version: '1' } as never],
      maxConcurrency: 1,
      metadata: {},
      state: 'ready',
      registeredAt: now,
      lastHeartbeatAt: now,
      heartbeatIntervalMs: 20,
      heartbeatTimeoutMs: 100,
      owner: 'elsewhere',
    });
    expect(await b.lease('far', { waitMs: 0 })).toEqual([]);
    expect(b.getAgent('far').remote).toBe(true);
  });
});

describe('TaskTracker.awaits', () => {
  it('knows which tasks someone awaits until they end or stop waiting', () => {
    const tracker = new TaskTracker(0);
    const w1 = { resolve: () => undefined, reject: () => undefined };
    const w2 = { resolve: () => undefined, reject: () => undefined };
    tracker.wait('t1', w1);
    tracker.wait('t1', w2);
    tracker.wait('t2', w1);
    tracker.unwait('t1', w1);
    expect(tracker.awaits('t1')).toBe(true);
    tracker.unwait('t1', w2);
    tracker.unwait('t3', w2);
    expect(tracker.awaits('t1')).toBe(false);
    tracker.ended({ id: 't2', status: 'completed' } as never);
    expect(tracker.awaits('t2')).toBe(false);
    tracker.wait('t4', w1);
    tracker.rejectAll(new Error('closed'));
    expect(tracker.awaits('t4')).toBe(false);
  });
});
