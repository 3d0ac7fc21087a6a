// A worker of @switchboard/client outlives a crash of its journal-backed server, with real
// processes on Node, Bun and Deno: the server (the CLI bundled from the sources) is killed
// with SIGKILL while the worker (worker-restart-script.ts) holds leases, and started again on
// the same journal behind the same address (a TCP relay of this test, since a new process
// gets a new port). The worker retries through the outage, completes the leases it held with
// their old tokens, and works on: no task is lost, none dead-lettered, none run again after
// its completion was acknowledged.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execPath } from 'node:process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnServer } from '../e2e/servers.js';
import { call, sleep } from '../helpers/http-agent.js';
import { bundleSourceServer } from '../helpers/source-server.js';
import {
  bundleWorkerScript,
  startWorkerProcess,
  workerRuntimes,
} from '../helpers/worker-process.js';

/** A TCP relay on a fixed port of 127.0.0.1 to whichever server `target` names now. */
async function relay(): Promise<{ url: string; target(url: string): void; close(): void }> {
  let port = 0;
  const sockets = new Set<Socket>();
  const relayServer: Server = createServer((inbound) => {
    const outbound = connect(port, '127.0.0.1');
    sockets.add(inbound).add(outbound);
    const end = () => {
      inbound.destroy();
      outbound.destroy();
      sockets.delete(inbound);
      sockets.delete(outbound);
    };
    inbound.on('error', end).on('close', end);
    outbound.on('error', end).on('close', end);
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((resolve) => relayServer.listen(0, '127.0.0.1', resolve));
  const address = relayServer.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    target: (url) => {
      port = Number(new URL(url).port);
    },
    close: () => {
      for (const s of sockets) s.destroy();
      relayServer.close();
    },
  };
}

const TASKS = 40;

describe('a worker across a SIGKILL of its journal server', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-worker-restart-'));
  let bundle: string;
  let script: string;
  const started: { stop(): Promise<void> }[] = [];
  beforeAll(async () => {
    bundle = await bundleSourceServer();
    script = await bundleWorkerScript('test/crash/worker-restart-script.ts');
  }, 60_000);
  afterAll(async () => {
    await Promise.all(started.map((s) => s.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  for (const runtime of workerRuntimes()) {
    it.skipIf(runtime.bin === undefined)(
      `${runtime.name}: completes the leases it held and every other task, once each`,
      async () => {
        const config = join(dir, `${runtime.name}.json`);
        writeFileSync(config, JSON.stringify({ heartbeatTimeoutMs: 10_000 }));
        const journal = `journal:${mkdtempSync(join(dir, 'j-'))}`;
        const serve = async () => {
          const proc = await spawnServer(execPath, [bundle, 'serve', '--backend', journal], config);
          started.push(proc);
          return proc;
        };
        let proc = await serve();
        const address = await relay();
        address.target(proc.url);
        const worker = startWorkerProcess(runtime, script, address.url);
        started.push({ stop: async () => void worker.child.kill('SIGKILL') });
        // What happened, in order: a handler starting, the server acknowledging a completion.
        const log = () =>
          worker.lines.flatMap((l) =>
            typeof l.run === 'string'
              ? [`run ${l.run}`]
              : typeof l.ack === 'string'
                ? [`ack ${l.ack}`]
                : [],
          );
        const count = (kind: string) => log().filter((l) => l.startsWith(kind)).length;

        const tasks = Array.from({ length: TASKS }, (_, i) => ({
          capability: 'job',
          payload: { i },
          timeoutMs: 30_000,
          maxAttempts: 3,
        }));
        const submitted = await call(proc.url, 'POST', '/v1/tasks/batch', { tasks });
        expect(submitted.status).toBe(202);
        const ids = submitted.body.ids as string[];

        // Kill the server while the worker holds leases, some tasks done already.
        while (!(count('ack') >= 4 && count('run') - count('ack') >= 4)) await sleep(5);
        const heldAtKill = count('run') - count('ack');
        await proc.kill('SIGKILL');
        await sleep(700);
        proc = await serve();
        const url = proc.url;
        address.target(url);

        const deadline = Date.now() + 30_000;
        for (;;) {
          const views = await Promise.all(ids.map((id) => call(url, 'GET', `/v1/tasks/${id}`)));
          if (views.every((v) => v.body.status === 'completed')) {
            expect(views.map((v) => v.body.result)).toEqual(ids.map((_, i) => ({ i })));
            break;
          }
          if (Date.now() > deadline) {
            throw new Error(
              `not all completed: ${views.map((v) => v.body.status).join(', ')}\n${worker.stderr()}`,
            );
          }
          await sleep(100);
        }
        expect((await call(url, 'GET', '/v1/dead-letters')).body.tasks).toEqual([]);
        // Every task ran once, and none after the server acknowledged its completion. A
        // completion applied by a request whose answer the kill cut off was never
        // acknowledged: sent again, it was told 409, and its task is completed all the same.
        const lines = log();
        for (const id of ids) {
          expect([id, lines.filter((l) => l === `run ${id}`).length]).toEqual([id, 1]);
          const ack = lines.indexOf(`ack ${id}`);
          if (ack !== -1) expect(lines.indexOf(`run ${id}`)).toBeLessThan(ack);
        }
        // The outage was seen and survived: the calls during it failed and were retried, and
        // the worker works on.
        const errors = worker.lines.filter((l) => 'error' in l).length;
        expect(errors).toBeGreaterThan(0);
        const after = await call(url, 'POST', '/v1/tasks', {
          capability: 'job',
          payload: { i: -1 },
        });
        const done = await call(url, 'GET', `/v1/tasks/${after.body.id}/result?waitMs=10000`);
        expect(done.body).toMatchObject({ status: 'completed', result: { i: -1 } });

        worker.child.kill('SIGKILL');
        address.close();
        console.log(
          `worker restart on ${runtime.name}: ${TASKS} tasks, ${heldAtKill} leases held across ` +
            `a SIGKILL, all completed once, ${errors} failed calls retried`,
        );
      },
      60_000,
    );
  }
});
