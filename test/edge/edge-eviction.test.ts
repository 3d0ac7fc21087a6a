/**
 * The HTTP API on workerd (examples/edge-worker/api-worker.ts) keeps its tasks, leases and
 * agents in the Durable Object's storage: workerd is stopped, which takes the object and its
 * memory with it, and started again over the same stored state, as the runtime evicts and
 * recreates an object. A remote agent's lease is still its own after that, with its token; a
 * task the object's own handler held is run again, its lost attempt counted, by an object the
 * alarm brought back before any request reached the new workerd.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { type ServedWorker, serveOnWorkerd } from './workerd.js';

const token = 'edge-admin-token';
const persist = mkdtempSync(join(tmpdir(), 'sb-edge-do-'));
let api: ServedWorker | undefined;

afterAll(async () => {
  await api?.stop();
  rmSync(persist, { recursive: true, force: true });
});

function serve(): Promise<ServedWorker> {
  return serveOnWorkerd('api-worker.ts', {
    durableObjects: { SWITCHBOARD: { className: 'SwitchboardHub', useSQLite: true } },
    bindings: { SWITCHBOARD_ADMIN_TOKEN: token, SWITCHBOARD_WAKE_MS: '500' },
    durableObjectsPersist: persist,
  });
}

async function call<T>(method: string, path: string, body?: unknown): Promise<[number, T]> {
  const res = await fetch(`${(api as ServedWorker).url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return [res.status, (await res.json()) as T];
}

interface Task {
  id: string;
  status: string;
  attempts: number;
  leaseToken?: string;
  result?: unknown;
  error?: { message: string };
}

const task = async (id: string) => (await call<Task>('GET', `v1/tasks/${id}`))[1];

describe('the HTTP API on workerd after its Durable Object is evicted', { timeout: 60_000 }, () => {
  it('keeps queued and leased tasks and registered agents, and ends its own leases as lost', async () => {
    api = await serve();
    const [, agent] = await call<{ id: string }>('POST', 'v1/agents', {
      capabilities: [{ name: 'remote', version: '1' }],
    });
    const [, first] = await call<{ id: string }>('POST', 'v1/tasks', {
      capability: 'remote',
      payload: { n: 1 },
    });
    const [, second] = await call<{ id: string }>('POST', 'v1/tasks', {
      capability: 'remote',
      payload: { n: 2 },
    });
    const [, leased] = await call<{ tasks: Task[] }>('POST', `v1/agents/${agent.id}/lease`, {
      max: 1,
      waitMs: 0,
    });
    expect(leased.tasks.map((t) => t.id)).toEqual([first.id]);
    const leaseToken = leased.tasks[0]?.leaseToken as string;
    // A task the object's own agent holds while the object goes away.
    const [, slow] = await call<{ id: string }>('POST', 'v1/tasks', {
      capability: 'slow',
      payload: { ms: 600_000 },
      timeoutMs: 600_000,
      maxAttempts: 3,
    });
    await vi.waitFor(async () => expect((await task(slow.id)).status).toBe('leased'));

    await api.stop();
    api = undefined;
    api = await serve();
    // No request reaches the new workerd for a while: the alarm the object set before it
    // went away brings a new object back, which runs the task its agent lost again.
    const restarted = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 2_000));

    expect((await call('GET', `v1/agents/${agent.id}`))[0]).toBe(200);
    expect(await task(first.id)).toMatchObject({ status: 'leased', attempts: 1 });
    expect(await task(second.id)).toMatchObject({ status: 'queued', attempts: 0 });
    const [status] = await call('POST', `v1/tasks/${first.id}/complete`, {
      leaseToken,
      result: { doubled: 2 },
    });
    expect(status).toBe(200);
    expect(await task(first.id)).toMatchObject({ status: 'completed', result: { doubled: 2 } });
    const [, next] = await call<{ tasks: Task[] }>('POST', `v1/agents/${agent.id}/lease`, {
      max: 5,
      waitMs: 0,
    });
    expect(next.tasks.map((t) => t.id)).toEqual([second.id]);
    // The lost attempt counts, and the object's agent leases the task again.
    const again = (await task(slow.id)) as Task & { updatedAt: number };
    expect(again).toMatchObject({
      status: 'leased',
      attempts: 2,
      error: { message: expect.stringMatching(/lease lost/) },
    });
    expect(again.updatedAt).toBeLessThan(restarted + 2_000);
  });
});
