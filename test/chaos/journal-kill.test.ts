// Chaos: one server on the journal backend, SIGKILLed at random moments and restarted on the
// same directory, while clients submit throughout and remote agents (separate from the
// server, so they outlive it) lease, work and complete. The agents keep their id across the
// restarts, retry through connection errors and register again only on a 404.
// Invariants (ledger.ts): no accepted task lost, none delivered again after its completion
// was acknowledged, none dead that no handler failed (a server crash alone must never
// dead-letter a remote task), every failure in the dead letters; and a lease held by a live
// remote agent outlives the server: its complete is accepted after the restart (no 409).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerProcess } from '../e2e/servers.js';
import { call, sleep } from '../helpers/http-agent.js';
import { produce, submit } from './client.js';
import {
  deadLetters,
  expectClean,
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

const ROUNDS = rounds(6);
const HEARTBEAT_TIMEOUT_MS = 3_000;
const work = scratch('journal-kill');
let bundle: string;

beforeAll(async () => {
  bundle = await bundleServer(work.dir);
}, 60_000);
afterAll(() => work.dispose());

describe('chaos: journal server under kill -9', () => {
  it(
    `loses nothing and dead-letters nothing across ${ROUNDS} kills with remote agents that outlive it`,
    async () => {
      const ledger = new Ledger();
      const journal = `journal:${join(work.dir, 'journal')}`;
      const start = () =>
        startServer(bundle, work.dir, {
          backend: journal,
          config: { heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS },
          // An in-process handler that takes its process down: the poison task of a user.
          agents: "[{ name: 'poison', capabilities: ['poison'], handle: () => process.exit(3) }]",
        });
      // Set by restart() before any use; a crash or a kill replaces it.
      let server = undefined as unknown as ServerProcess;
      let up = false;
      const crashes: string[] = [];
      /** The server's (re)start in progress: a kill of the test and a crash share it. */
      let starting: Promise<void> | undefined;
      const restart = () => {
        up = false;
        starting ??= (async () => {
          server = await start();
          server.onCrash((why) => {
            crashes.push(why);
            void restart();
          });
          up = true;
          starting = undefined;
        })();
        return starting;
      };
      await restart();
      const servers = () => (up ? [server.url] : []);

      const agents = Array.from(
        { length: 3 },
        (_, n) =>
          new RemoteAgent({
            name: `worker-${n}`,
            capabilities: ['chaos'],
            servers,
            ledger,
            heartbeatMs: HEARTBEAT_TIMEOUT_MS / 3,
            // Long enough that most kills find leases in the agents' hands.
            work: (t) => ({
              ms: 30 + Math.random() * 150,
              outcome: t.payload.doomed === true ? 'fail' : 'complete',
            }),
          }),
      );
      const running = agents.map((a) => a.run());
      let producing = true;
      // One task in 50 is failed for good by its handler: the only tasks allowed to die.
      const client = produce(
        servers,
        ledger,
        (n) => ({
          key: `j-${n}`,
          capability: 'chaos',
          // Two attempts: a task leased across two crashes would die if crashes counted.
          maxAttempts: 2,
          // A lease whose answer a kill cut off is held for an agent that never got it, until
          // it expires: 5 s, not the default 30, keeps the drain short.
          timeoutMs: 5_000,
          payload: n % 50 === 7 ? { doomed: true } : {},
        }),
        { size: 20, everyMs: 40, stopped: () => !producing },
      );

      const restartMs: number[] = [];
      const heldAcrossKill = new Map<string, number>();
      let heldKills = 0;
      for (let round = 0; round < ROUNDS; round++) {
        await sleep(150 + Math.random() * 500);
        // Every other round waits (a little) for a moment when the agents hold leases.
        for (let i = 0; round % 2 === 0 && i < 100; i++) {
          if (agents.some((a) => a.held.size > 0)) break;
          await sleep(5);
        }
        const killedAt = Date.now();
        const held = agents.flatMap((a) => [...a.held.keys()]);
        for (const id of held) heldAcrossKill.set(id, killedAt);
        if (held.length > 0) heldKills++;
        await starting;
        up = false;
        await server.kill('SIGKILL');
        await restart();
        restartMs.push(Date.now() - killedAt);
      }
      producing = false;
      await client;
      // The poison task crashes the server at each attempt, until it is dead-lettered.
      const poison = new Ledger();
      await submit(servers, poison, [{ key: 'poison', capability: 'poison', maxAttempts: 3 }]);
      const poisonId = poison.accepted.get('poison') as string;
      for (let i = 0; i < 400 && crashes.length < 3; i++) await sleep(25);
      await starting;

      const settling = Date.now();
      const views = await settle(() => servers()[0] as string, ledger, 45_000);
      const drainMs = Date.now() - settling;
      for (const a of agents) a.stop();
      await Promise.all(running);
      const dead = await deadLetters(server.url);
      const poisonView = (await call(server.url, 'GET', `/v1/tasks/${poisonId}`)).body;
      const v = verdict(ledger, views, dead);
      // From each kill to the complete of a lease held across it, acknowledged after the restart.
      const recovered = [...heldAcrossKill]
        .filter(([id]) => ledger.ackedAt.has(id))
        .map(([id, at]) => (ledger.ackedAt.get(id) as number) - at);
      const restartFigures = maxP99(restartMs);
      report('journal-kill', {
        rounds: ROUNDS,
        'kills with leases held': heldKills,
        tasks: ledger.accepted.size,
        'leases held across a kill': heldAcrossKill.size,
        lost: v.lost.length,
        'drain after the last fault ms': drainMs,
        'dead-lettered by crashes': v.deadByFaults.length,
        'dead-lettered by handlers': ledger.failedByHandler.size,
        'crashes by a poison task': crashes.length,
        'completes refused (409)': ledger.refused.length,
        'completes refused, agent removed for missed heartbeats': ledger.removedHolding.length,
        'registrations (3 agents)': agents.reduce((n, a) => n + a.registrations, 0),
        'restart ms max/p50': `${restartFigures.max}/${restartFigures.p50}`,
        'held lease completed after kill ms max': maxP99(recovered).max,
      });
      await server.stop();

      expectClean(ledger, v);
      // A live agent's lease survives the restart: its complete is accepted with its token.
      expect(ledger.refused.slice(0, 10)).toEqual([]);
      // Registrations are in the journal: no agent had to register again (nor was one
      // removed for heartbeats it missed, which a starved machine can cause).
      expect(ledger.removedHolding.slice(0, 10)).toEqual([]);
      expect(agents.map((a) => a.registrations)).toEqual([1, 1, 1]);
      // The poison task crashed its server once per attempt, then sat in the dead letters.
      expect(crashes.map((why) => why.includes('exited (3, null)'))).toEqual([true, true, true]);
      expect(poisonView?.status).toBe('dead');
      expect(dead.has(poisonId)).toBe(true);
      expect(heldKills).toBeGreaterThan(0);
      expect(ledger.accepted.size).toBeGreaterThan(ROUNDS * 20);
    },
    (long ? 600 : 90) * 1000,
  );
});
