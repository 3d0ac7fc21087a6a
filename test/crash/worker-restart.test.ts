// A worker of @switchboard/client outlives a crash of its journal-backed server, with real
// processes: the server (the CLI bundled from the sources) is killed with SIGKILL while the
// worker holds leases, and started again on the same journal behind the same address (a TCP
// relay of this test, since a new process gets a new port). The worker retries through the
// outage, completes the leases it held with their old tokens, and works on: no task is lost,
// none dead-lettered, none run again after its completion was acknowledged.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execPath } from 'node:process';
import { createWorker } from '@switchboard/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServerProcess, spawnServer } from '../e2e/servers.js';
import { call, sleep } from '../helpers/http-agent.js';
import { bundleSourceServer } from '../helpers/source-server.js';

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
const CONCURRENCY = 4;

describe('a worker across a SIGKILL of its journal server', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-worker-restart-'));
  let bundle: string;
  // The one server alive at a time: the killed one is gone already.
  let proc: ServerProcess | undefined;
  beforeAll(async () => {
    bundle = await bundleSourceServer();
  }, 60_000);
  afterAll(async () => {
    await proc?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('completes the leases it held and every other task, once each', async () => {
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ heartbeatTimeoutMs: 10_000 }));
    const journal = `journal:${mkdtempSync(join(dir, 'j-'))}`;
    const serve = () => spawnServer(execPath, [bundle, 'serve', '--backend', journal], config);
    proc = await serve();
    const address = await relay();
    address.target(proc.url);

    // What happened, in order: a handler starting, and the server acknowledging a completion.
    const log: string[] = [];
    const runs = new Map<string, number>();
    const errors: unknown[] = [];
    const worker = createWorker({
      url: address.url,
      capabilities: ['job'],
      concurrency: CONCURRENCY,
      leaseWaitMs: 1000,
      backoff: { initialMs: 50, maxMs: 500 },
      onError: (e) => errors.push(e),
      fetch: async (input, init) => {
        const res = await fetch(input, init);
        const m = /\/v1\/tasks\/([^/]+)\/complete$/.exec(String(input));
        if (m !== null && res.ok) log.push(`ack ${decodeURIComponent(m[1] as string)}`);
        return res;
      },
      handler: async (payload: { i: number }, ctx) => {
        log.push(`run ${ctx.taskId}`);
        runs.set(ctx.taskId, (runs.get(ctx.taskId) ?? 0) + 1);
        await sleep(150);
        return { i: payload.i };
      },
    });
    const running = worker.run();

    const tasks = Array.from({ length: TASKS }, (_, i) => ({
      capability: 'job',
      payload: { i },
      timeoutMs: 30_000,
      maxAttempts: 3,
    }));
    const submitted = await call(proc.url, 'POST', '/v1/tasks/batch', { tasks });
    expect(submitted.status).toBe(202);
    const ids = submitted.body.ids as string[];

    // Kill the server while the worker holds a full set of leases, some tasks done already.
    while (!(worker.running === CONCURRENCY && log.some((l) => l.startsWith('ack')))) {
      await sleep(10);
    }
    const heldAtKill = worker.running;
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
        throw new Error(`not all completed: ${views.map((v) => v.body.status).join(', ')}`);
      }
      await sleep(100);
    }
    expect((await call(url, 'GET', '/v1/dead-letters')).body.tasks).toEqual([]);
    // Every task ran once, and none after the server acknowledged its completion.
    expect(ids.filter((id) => runs.get(id) !== 1)).toEqual([]);
    for (const id of ids) {
      const ack = log.indexOf(`ack ${id}`);
      expect(ack).toBeGreaterThan(-1);
      expect(log.lastIndexOf(`run ${id}`)).toBeLessThan(ack);
    }
    // The outage was seen and survived: the calls during it failed and were retried.
    expect(errors.length).toBeGreaterThan(0);
    expect(worker.state).toBe('running');

    await worker.close();
    await running;
    address.close();
    console.log(
      `worker restart: ${TASKS} tasks, ${heldAtKill} leases held across a SIGKILL, ` +
        `all completed once, ${errors.length} failed calls retried`,
    );
  }, 60_000);
});
