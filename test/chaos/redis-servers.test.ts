// Chaos: three servers share one real redis-server (append-only, fsync always). Clients submit
// through any of them; roaming remote agents work through whichever is alive; each server has
// a companion agent that works only through it and dies with it, holding leases. Servers are
// SIGKILLed at random under load and replaced, and Redis itself is SIGKILLed and restarted
// mid-load. Besides the invariants of ledger.ts, failover is measured: the tasks a dead
// companion held must be leased again by a live agent within its heartbeat timeout + 1 s,
// wherever it registered (not when their 30 s leases expire).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerProcess } from '../e2e/servers.js';
import { sleep } from '../helpers/http-agent.js';
import { type RedisServerHandle, startRedisServer } from '../helpers/redis-server.js';
import { produce } from './client.js';
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

const ROUNDS = rounds(4);
const HEARTBEAT_TIMEOUT_MS = 800;
const work = scratch('redis-servers');
let bundle: string;
let redis: RedisServerHandle;

beforeAll(async () => {
  // One after the other: a failed bundle must not leave a redis-server behind.
  bundle = await bundleServer(work.dir);
  redis = await startRedisServer({ appendonly: true, appendfsync: 'always' });
}, 60_000);
afterAll(async () => {
  await work.dispose();
  await redis?.dispose();
});

/** A server of the fleet and the agent that lives and dies with it. */
interface Member {
  proc: ServerProcess;
  companion: RemoteAgent;
  done: Promise<void>;
}

describe('chaos: servers on one Redis, killed at random, and Redis restarted', () => {
  it(
    `loses nothing and fails over within the heartbeat timeout across ${ROUNDS} faults`,
    async () => {
      const ledger = new Ledger();
      const crashes: string[] = [];
      let fleet: Member[] = [];
      const servers = () => fleet.map((m) => m.proc.url);

      const join = async (): Promise<Member> => {
        const proc = await startServer(bundle, work.dir, {
          backend: redis.url,
          config: { heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS },
        });
        proc.onCrash((why) => crashes.push(why));
        // Slow, so that it holds leases whenever its server is killed.
        const companion = new RemoteAgent({
          name: `companion-${proc.url}`,
          capabilities: ['chaos'],
          servers: () => [proc.url],
          ledger,
          heartbeatMs: HEARTBEAT_TIMEOUT_MS / 4,
          maxConcurrency: 5,
          work: () => ({ ms: 300 + Math.random() * 500, outcome: 'complete' }),
        });
        return { proc, companion, done: companion.run() };
      };
      fleet = await Promise.all([join(), join(), join()]);

      const roaming = Array.from(
        { length: 3 },
        (_, n) =>
          new RemoteAgent({
            name: `roaming-${n}`,
            capabilities: ['chaos'],
            servers,
            ledger,
            heartbeatMs: HEARTBEAT_TIMEOUT_MS / 4,
            work: (t) => ({
              ms: 10 + Math.random() * 60,
              outcome: t.payload.doomed === true ? 'fail' : 'complete',
            }),
          }),
      );
      const running = roaming.map((a) => a.run());
      let producing = true;
      const client = produce(
        servers,
        ledger,
        (n) => ({
          key: `r-${n}`,
          capability: 'chaos',
          // A lease whose answer a kill cut off is held for an agent that never got it, until
          // it expires: 5 s, not the default 30, keeps the drain short.
          timeoutMs: 5_000,
          payload: n % 50 === 7 ? { doomed: true } : {},
        }),
        { size: 10, everyMs: 40, stopped: () => !producing },
      );

      /** Task id → when the server of the companion holding it was killed. */
      const abandoned = new Map<string, { at: number; token: string }>();
      const redisRound = Math.floor(ROUNDS / 2);
      let kills = 0;
      let redisRestarts = 0;
      for (let round = 0; round < ROUNDS; round++) {
        await sleep(300 + Math.random() * 500);
        if (round === redisRound) {
          await redis.restart({ kill: true });
          redisRestarts++;
          continue;
        }
        const holding = fleet.filter((m) => m.companion.held.size > 0);
        const pool = holding.length > 0 ? holding : fleet;
        const victim = pool[Math.floor(Math.random() * pool.length)] as Member;
        fleet = fleet.filter((m) => m !== victim);
        const killedAt = Date.now();
        for (const [id, t] of victim.companion.held)
          abandoned.set(id, { at: killedAt, token: t.leaseToken });
        victim.companion.silence();
        await victim.proc.kill('SIGKILL');
        kills++;
        fleet = [...fleet, await join()];
      }
      producing = false;
      await client;

      const settling = Date.now();
      const views = await settle(() => servers()[0] as string, ledger, 45_000);
      const drainMs = Date.now() - settling;
      for (const m of fleet) m.companion.stop();
      for (const a of roaming) a.stop();
      await Promise.all([...running, ...fleet.map((m) => m.done)]);
      const dead = await deadLetters(servers()[0] as string);
      const v = verdict(ledger, views, dead);
      // From the kill to the next lease of each task the dead companion held.
      const failover = failovers(ledger, views, abandoned);
      const f = maxP99(failover);
      report('redis-servers', {
        rounds: ROUNDS,
        'servers killed': kills,
        'Redis restarts': redisRestarts,
        tasks: ledger.accepted.size,
        'leases abandoned by killed agents': failover.length,
        lost: v.lost.length,
        'drain after the last fault ms': drainMs,
        'dead-lettered by crashes': v.deadByFaults.length,
        'dead-lettered by handlers': ledger.failedByHandler.size,
        'failover ms max/p50': `${f.max}/${f.p50}`,
        'heartbeat timeout ms': HEARTBEAT_TIMEOUT_MS,
      });
      await Promise.all(fleet.map((m) => m.proc.stop()));

      expectClean(ledger, v);
      expect(failover.length).toBeGreaterThan(0);
      expect(f.max).toBeLessThanOrEqual(HEARTBEAT_TIMEOUT_MS + 1_000);
      expect(crashes).toEqual([]);
    },
    (long ? 900 : 120) * 1000,
  );
});
