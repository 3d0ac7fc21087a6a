// Chaos: agents that misbehave, on one server. In-process handlers that throw (some on a few
// attempts, some on every one), that hang past their timeout ignoring their abort signal, or
// that are slow; remote agents that are slow, and one that goes silent holding leases (as a
// hung or killed process does). Every task must end where it should: completed, or dead only
// when its handler failed it on every attempt; every failure must be visible in the event
// stream or the dead letters; and the silent agent's tasks must be leased again within its
// heartbeat timeout + 1 s.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep } from '../helpers/http-agent.js';
import { type Spec, submit } from './client.js';
import { record } from './events.js';
import {
  deadLetters,
  expectClean,
  failovers,
  Ledger,
  long,
  maxP99,
  report,
  rounds,
  settle,
  verdict,
} from './ledger.js';
import { RemoteAgent } from './remote-agent.js';
import { bundleServer, scratch, startServer } from './server.js';

const ROUNDS = rounds(3);
const HEARTBEAT_TIMEOUT_MS = 1_000;
const work = scratch('agents');
let bundle: string;

beforeAll(async () => {
  bundle = await bundleServer(work.dir);
}, 60_000);
afterAll(() => work.dispose());

// In-process agents of the server's config file (an ES module, so handlers are functions).
// `fails` is how many first attempts throw; `hang` makes the first attempt never end.
const IN_PROCESS = `[
  { name: 'flaky', capabilities: ['flaky'], config: { maxConcurrency: 8 },
    async handle(p, ctx) {
      if (ctx.attempt <= (p.fails ?? 0)) throw new Error('flaky ' + p.key + ' attempt ' + ctx.attempt);
      return { key: p.key };
    } },
  { name: 'hanger', capabilities: ['hang'], config: { maxConcurrency: 16 },
    async handle(p, ctx) {
      if (ctx.attempt === 1) await new Promise(() => {});
      return { key: p.key };
    } },
  { name: 'slow', capabilities: ['slow'], config: { maxConcurrency: 4 },
    async handle(p) {
      await new Promise((r) => setTimeout(r, 20 + Math.random() * 150));
      return { key: p.key };
    } },
]`;

/** The tasks of one round: a mix of every kind, `n` the first key number. */
function round(n: number): Spec[] {
  const specs: Spec[] = [];
  for (let i = 0; i < 40; i++) {
    const key = `a-${n + i}`;
    if (i % 10 === 0) specs.push({ key, capability: 'flaky', payload: { fails: 99 } });
    // A few hang, each in one slot of the agent, which goes on working with the others.
    else if (i % 13 === 1) specs.push({ key, capability: 'hang', timeoutMs: 300 });
    else if (i % 3 === 0)
      specs.push({ key, capability: 'flaky', payload: { fails: (i >> 1) % 3 } });
    else if (i % 3 === 1) specs.push({ key, capability: 'slow' });
    else specs.push({ key, capability: 'remote' });
  }
  return specs;
}

describe('chaos: agents that crash, hang, are slow or go silent', () => {
  it(
    `ends every task where it should and fails the silent agent over (${ROUNDS} rounds)`,
    async () => {
      const ledger = new Ledger();
      const server = await startServer(bundle, work.dir, {
        config: {
          heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS,
          switchboard: { retry: { initialDelayMs: 20, factor: 1, jitter: 0 } },
        },
        agents: IN_PROCESS,
      });
      const servers = () => [server.url];
      const events = await record(server.url, 'task.failed,task.dead,task.leased,agent.failed');

      const remote = (name: string, slow: boolean) =>
        new RemoteAgent({
          name,
          capabilities: ['remote'],
          servers,
          ledger,
          heartbeatMs: HEARTBEAT_TIMEOUT_MS / 4,
          maxConcurrency: 4,
          work: () => ({ ms: slow ? 100 + Math.random() * 200 : 5, outcome: 'complete' }),
        });
      const agents = [remote('steady', false), remote('sluggish', true)];
      const running = agents.map((a) => a.run());

      const doomed = new Set<string>();
      /** Task id → when the agent holding it went silent. */
      const abandoned = new Map<string, { at: number; token: string }>();
      const silencedIds: string[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        // A new silent agent each round: it registers, takes what it can and never answers.
        const mute = remote(`mute-${r}`, true);
        const muted = mute.run();
        const specs = round(r * 40);
        await submit(servers, ledger, specs);
        for (const s of specs)
          if (s.payload?.fails === 99) doomed.add(ledger.accepted.get(s.key) as string);
        for (let i = 0; i < 200 && mute.held.size === 0; i++) await sleep(5);
        const at = Date.now();
        for (const [id, t] of mute.held) abandoned.set(id, { at, token: t.leaseToken });
        if (mute.id !== undefined) silencedIds.push(mute.id);
        mute.silence();
        await muted;
        await sleep(300 + Math.random() * 300);
      }

      const views = await settle(() => server.url, ledger, 30_000);
      for (const a of agents) a.stop();
      await Promise.all(running);
      const dead = await deadLetters(server.url);
      await sleep(200);
      const seen = await events.close();
      await server.stop();

      // The handlers' own failures: tasks whose handler threw on every attempt.
      for (const id of doomed) ledger.failedByHandler.add(id);
      const v = verdict(ledger, views, dead);
      const failedEvent = new Set(
        seen.filter((e) => e.event === 'task.failed').map((e) => e.data.taskId),
      );
      const deadEvent = new Set(
        seen.filter((e) => e.event === 'task.dead').map((e) => e.data.taskId),
      );
      const failedAgents = new Set(
        seen.filter((e) => e.event === 'agent.failed').map((e) => e.data.agentId),
      );
      const holders = new Map<string, string[]>();
      for (const e of seen.filter((e) => e.event === 'task.leased'))
        holders.set(e.data.taskId, [...(holders.get(e.data.taskId) ?? []), e.data.agentId]);
      // Each task that needed more than one attempt: a failure event says why, or an agent
      // failure of one that held it.
      const unexplained = [...views.values()]
        .filter((t) => t.attempts > 1 && !failedEvent.has(t.id))
        .filter((t) => !(holders.get(t.id) ?? []).some((a) => failedAgents.has(a)))
        .map((t) => `${t.id} (${t.status}, ${t.attempts} attempts)`);
      const notDeadEvent = [...doomed].filter((id) => !deadEvent.has(id));
      const failover = failovers(ledger, views, abandoned);
      const f = maxP99(failover);
      const hung = [...views.values()].filter((t) => t.attempts > 1 && t.status === 'completed');
      report('agents', {
        rounds: ROUNDS,
        tasks: ledger.accepted.size,
        'silent agents': silencedIds.length,
        'leases abandoned by silent agents': failover.length,
        'retried then completed': hung.length,
        lost: v.lost.length,
        'dead-lettered by handlers': doomed.size,
        'dead-lettered by faults': v.deadByFaults.length,
        'failures not in events': unexplained.length + notDeadEvent.length,
        'silent agent failover ms max/p50': `${f.max}/${f.p50}`,
      });

      expectClean(ledger, v);
      expect([...doomed].filter((id) => views.get(id)?.status !== 'dead')).toEqual([]);
      expect(unexplained.slice(0, 10)).toEqual([]);
      expect(notDeadEvent).toEqual([]);
      expect(silencedIds.filter((id) => !failedAgents.has(id))).toEqual([]);
      expect(failover.length).toBeGreaterThan(0);
      expect(f.max).toBeLessThanOrEqual(HEARTBEAT_TIMEOUT_MS + 1_000);
      expect(events.ended()).toBe(false);
    },
    (long ? 600 : 60) * 1000,
  );
});
