import { execPath } from 'node:process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundle, type ServerProcess, spawnServer } from '../e2e/servers.js';
import {
  type AgentRun,
  type AgentWorld,
  type Answer,
  type Companion,
  call,
  runAgent,
  sleep,
  transient,
} from '../helpers/http-agent.js';
import { type RedisServerHandle, startRedisServer } from '../helpers/redis-server.js';

// Real processes all the way: three servers (the built Node bundle) share one redis-server
// that fsyncs every write; remote agents work over HTTP through whichever server is alive; a
// client submits with idempotency keys. Servers are SIGKILLed at random and replaced, and
// Redis itself is killed and restarted mid-load. In the end every task a client got a 202
// for is completed, exactly once, by idempotency key.

const TASKS = 2000;
const BATCH = 100;
const SERVERS = 3;
const AGENTS = 3;
const ROUNDS = 22;
const REDIS_ROUND = ROUNDS / 2;

/** A server of the fleet: its process, and whether the test signalled it. */
interface Member {
  url: string;
  proc: ServerProcess;
  /** Set before the test signals it: an exit without it is a crash. */
  killed: boolean;
  /** The agent next to it (see `accompany`). */
  companion?: Companion;
}

let redis: RedisServerHandle;
const fleet: Member[] = [];
let live: Member[] = [];
/** Servers that exited without being told to, with how and their last output. */
const crashes: string[] = [];

/** A server process of the bundle in its own process group; resolves once it serves. */
async function start(): Promise<Member> {
  // A short heartbeat timeout: dead agents and servers are noticed within a second.
  const proc = await spawnServer(execPath, [bundle('node'), 'serve', '--backend', redis.url], {
    heartbeatTimeoutMs: 900,
  });
  proc.onCrash((why) => crashes.push(why));
  const member: Member = { url: proc.url, proc, killed: false };
  fleet.push(member);
  return member;
}

/** Signals a server's whole process group and waits for its exit. */
function kill(server: Member, signal: NodeJS.Signals): Promise<void> {
  server.killed = true;
  return server.proc.kill(signal);
}

beforeAll(async () => {
  redis = await startRedisServer({ appendonly: true, appendfsync: 'always' });
  live = await Promise.all(Array.from({ length: SERVERS }, start));
}, 30_000);

afterAll(async () => {
  await Promise.all(
    fleet.map((s) => {
      s.killed = true;
      return s.proc.stop();
    }),
  );
  await redis?.dispose();
}, 20_000);

const anyLive = () => live[Math.floor(Math.random() * live.length)]?.url ?? '';
const key = (i: number) => `key-${i}`;
const spec = (i: number) => ({
  // One in five only the companions serve: each batch leaves work in their hands.
  capability: i % 5 === 0 ? 'side' : 'crash',
  payload: { key: key(i) },
  priority: (['critical', 'high', 'normal', 'low'] as const)[i % 4],
  // Short leases and many attempts: what a killed server leased comes back fast.
  timeoutMs: 400,
  maxAttempts: 100,
  idempotencyKey: key(i),
});

/** Runs `fn` over `items`, `limit` at a time. */
async function each<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

/** What each live server and some of the `pending` tasks look like, for a failure message. */
async function stuck(pending: string[]): Promise<string> {
  const servers = await Promise.all(
    live.map(async (s) => {
      const stats = (await call(s.url, 'GET', '/v1/stats')).body;
      const agents = (await call(s.url, 'GET', '/v1/agents')).body?.agents;
      return { url: s.url, queue: stats?.queue, agents };
    }),
  );
  const tasks = await Promise.all(
    pending.slice(0, 5).map(async (id) => (await call(anyLive(), 'GET', `/v1/tasks/${id}`)).body),
  );
  return JSON.stringify({ left: pending.length, servers, tasks }, null, 1);
}

describe('Redis backend crash test: real server processes', () => {
  it('completes every acknowledged task exactly once through server kills and a Redis restart', async () => {
    let stopping = false;
    const world: AgentWorld = {
      live: () => live.map((s) => s.url),
      stopped: () => stopping,
      acked: new Map(),
      unexpected: [],
    };
    /** The id each key got at its first 202; any later answer must name the same task. */
    const ids = new Map<string, string>();
    const note = (what: string, a: Answer) => {
      if (!transient(a)) world.unexpected.push(`${what}: ${a.status} ${JSON.stringify(a.body)}`);
    };
    const same = (k: string, id: string) => {
      const first = ids.get(k);
      if (first === undefined) ids.set(k, id);
      else if (first !== id) world.unexpected.push(`${k} answered ${id}, first ${first}`);
    };

    /** Submits like a client that retries until acknowledged (safe: idempotency keys). */
    const submit = async (keys: number[]) => {
      for (;;) {
        const a = await call(
          anyLive(),
          'POST',
          '/v1/tasks/batch',
          { tasks: keys.map(spec) },
          10_000,
        );
        if (a.status === 202) {
          for (const [n, i] of keys.entries()) same(key(i), a.body.ids[n]);
          return;
        }
        note('batch', a);
        await sleep(20);
      }
    };
    /** A repeated key alone: 200 and the first task, nothing created. */
    const resubmit = async (i: number) => {
      for (;;) {
        const a = await call(anyLive(), 'POST', '/v1/tasks', spec(i));
        if (a.status === 200) {
          same(key(i), a.body.id);
          return;
        }
        note(`resubmit ${key(i)}`, a);
        if (!transient(a)) return;
        await sleep(20);
      }
    };

    const batches = TASKS / BATCH;
    let round = 0;
    let sent = 0;
    const agents = Array.from({ length: AGENTS }, (_, n) => runAgent(world, `agent-${n}`));
    // Each server has an agent next to it that dies with it: what that agent held when its
    // server was killed must come back (lease expiry, agent failure) and be done by others.
    const companions: Promise<AgentRun>[] = [];
    /** Task id → the companion that held it when its server died. */
    const abandoned = new Map<string, string>();
    const accompany = (server: Member) => {
      const name = `companion-${companions.length}`;
      const hold: Companion = { workMs: 100 + Math.random() * 150, abandoned: [], holding: [] };
      server.companion = hold;
      const own: AgentWorld = {
        ...world,
        live: () => (server.killed ? [] : [server.url]),
        stopped: () => stopping || server.killed,
      };
      companions.push(
        runAgent(own, name, hold).then((run) => {
          for (const id of hold.abandoned) abandoned.set(id, name);
          return run;
        }),
      );
    };
    for (const s of live) accompany(s);
    const producer = (async () => {
      // One batch per round, so the load spans all of them.
      for (let b = 0; b < batches; b++) {
        while (round < b) await sleep(10);
        await submit(Array.from({ length: BATCH }, (_, k) => b * BATCH + k));
        sent = b + 1;
        if (b > 0) {
          // A client resubmits part of what it already sent: nothing new may come of it.
          await submit([b * BATCH - 1, (b - 1) * BATCH]);
          await resubmit(Math.floor(Math.random() * b * BATCH));
        }
      }
    })();

    let restarts = 0;
    while (round < ROUNDS) {
      while (sent <= round && sent < batches) await sleep(5);
      // Every other round kills, as soon as there is one, a server whose companion holds
      // work from the batch just acknowledged: chance alone would leave whether any lease dies
      // with its holder to luck. The other rounds kill any server at any moment.
      const targeted = round % 2 === 0;
      if (!targeted) await sleep(Math.random() * 400);
      if (round === REDIS_ROUND) {
        round++;
        await redis.restart({ kill: true });
        continue;
      }
      let victim: Member | undefined;
      for (const end = Date.now() + 1_000; targeted && Date.now() < end; await sleep(2)) {
        victim = live.find((s) => (s.companion?.holding.length ?? 0) > 0);
        if (victim !== undefined) break;
      }
      victim ??= live[Math.floor(Math.random() * live.length)] as Member;
      live = live.filter((s) => s !== victim);
      await kill(victim, 'SIGKILL');
      round++;
      const fresh = await start();
      live = [...live, fresh];
      accompany(fresh);
      restarts++;
    }
    await producer;
    expect(ids.size).toBe(TASKS);

    // Expired leases of the killed servers are swept by the others and leased again.
    const pending = new Set(ids.values());
    const deadline = Date.now() + 30_000;
    for (;;) {
      for (const id of world.acked.keys()) pending.delete(id);
      await each([...pending], 8, async (id) => {
        const a = await call(anyLive(), 'GET', `/v1/tasks/${id}`);
        if (a.status === 200 && a.body.status === 'completed') pending.delete(id);
      });
      // Depth counts the Redis queue and what each process holds for want of an agent.
      const depths = await Promise.all(
        live.map(async (s) => (await call(s.url, 'GET', '/v1/stats')).body?.queue?.depth),
      );
      if (pending.size === 0 && depths.every((d) => d === 0)) break;
      if (Date.now() > deadline) throw new Error(`not drained: ${await stuck([...pending])}`);
      await sleep(100);
    }
    stopping = true;
    const runs = await Promise.all(agents);
    const companionRuns = await Promise.all(companions);

    // Every key again, in one batch: the same tasks, nothing new.
    const all = Array.from({ length: TASKS }, (_, i) => i);
    const again = await call(
      anyLive(),
      'POST',
      '/v1/tasks/batch',
      { tasks: all.map(spec) },
      20_000,
    );
    expect(again.status).toBe(202);
    expect(again.body.ids).toEqual(all.map((i) => ids.get(key(i))));
    expect(new Set(again.body.ids).size).toBe(TASKS);

    const attempts: number[] = [];
    const reclaimed: unknown[] = [];
    const wrong: unknown[] = [];
    await each(all, 8, async (i) => {
      const a = await call(anyLive(), 'GET', `/v1/tasks/${ids.get(key(i))}`);
      const t = a.body;
      attempts.push(t?.attempts ?? 0);
      const holder = abandoned.get(t?.id);
      // Done by someone else, on a later attempt than the one the dead companion held.
      if (holder !== undefined && (t.attempts < 2 || t.result?.by === holder))
        reclaimed.push({ holder, task: t });
      if (a.status !== 200 || t.status !== 'completed' || t.result?.key !== key(i))
        wrong.push({ key: key(i), status: a.status, task: t });
      else if (t.idempotencyKey !== key(i)) wrong.push({ key: key(i), task: t });
    });
    expect(wrong).toEqual([]);
    expect((await call(anyLive(), 'GET', '/v1/dead-letters')).body).toEqual({ tasks: [] });

    console.log(
      `servers killed ${restarts}, agents ${JSON.stringify(runs)}, abandoned ${abandoned.size}, ` +
        `retried tasks ${attempts.filter((n) => n > 1).length}, max attempts ${Math.max(...attempts)}`,
    );

    // No complete was acknowledged twice, and only tasks a client submitted were completed. A
    // server killed mid-answer may leave an acknowledgement unreceived: most, not all.
    expect([...world.acked].filter(([, n]) => n > 1)).toEqual([]);
    const known = new Set(ids.values());
    expect([...world.acked.keys()].filter((id) => !known.has(id))).toEqual([]);
    expect(world.acked.size).toBeGreaterThan(TASKS * 0.9);
    expect(world.unexpected).toEqual([]);
    // Killed servers' agents held leases: those tasks were reclaimed and leased again.
    expect(abandoned.size).toBeGreaterThan(0);
    expect(reclaimed).toEqual([]);
    expect(attempts.filter((n) => n > 1).length).toBeGreaterThanOrEqual(abandoned.size);
    const completes = [...runs, ...companionRuns].reduce((n, r) => n + r.completed, 0);
    expect(completes).toBe(world.acked.size);

    // Only the servers the test killed are gone; the others still serve.
    expect(restarts).toBe(ROUNDS - 1);
    expect(crashes).toEqual([]);
    for (const s of live) {
      expect(s.proc.alive()).toBe(true);
      expect((await call(s.url, 'GET', '/healthz')).status).toBe(200);
    }
  }, 90_000);
});
