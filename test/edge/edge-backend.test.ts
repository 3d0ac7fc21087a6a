/**
 * The Durable Object backend (@switchboard/plugins/durable-object) held to the conformance
 * suite of every backend, where it runs: on a Durable Object's storage on workerd. Each case
 * gets a fresh object of test/edge/fixtures/backend-host.ts, whose backend a
 * {@link RemoteBackend} drives over HTTP from this process.
 */
import type { Backend } from '@switchboard/core';
import { backendReopen, createFixture, rejectsWith, T0, testBackend } from '@switchboard/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { root } from '../shutdown/serve-process.js';
import { RemoteBackend } from './remote-backend.js';
import { type ServedWorker, serveOnWorkerd } from './workerd.js';

let host: ServedWorker;
let objects = 0;

beforeAll(async () => {
  host = await serveOnWorkerd(`${root}/test/edge/fixtures/backend-host.ts`, {
    durableObjects: { HOST: { className: 'BackendHost', useSQLite: true } },
  });
}, 60_000);

afterAll(async () => {
  await host?.stop();
});

/** A backend in an object of its own, never used before. */
function make(options: { maxRecordBytes?: number } = {}): Promise<RemoteBackend> {
  return new RemoteBackend(host.url, `object-${++objects}`).make(options);
}

// A clean restart: the backend is closed (its writes done), and a new one reads the
// object's storage, as a new object does after the runtime evicted the old one.
testBackend('durable-object (on workerd)', () => make(), {
  durable: true,
  numRuns: 20,
  reopen: async (backend) => {
    await backend.close();
    return (backend as RemoteBackend).make();
  },
});

// An eviction without warning: the backend is dropped as it stands, after its acknowledged
// operations, and a new one reads the storage.
describe('durable-object (on workerd): the reopen cases after a drop (no close)', () => {
  const f = createFixture();
  beforeEach(async () => {
    f.backend = await make();
    await f.backend.open();
    f.reset();
  });
  afterEach(async () => {
    await f.backend.close();
  });
  backendReopen(f, (backend: Backend) => (backend as RemoteBackend).make());
});

// A record the storage would refuse (a value past its size limit) is refused before anything
// changes, so the live state never gets ahead of the stored one.
describe('durable-object (on workerd): records too large to store', () => {
  const f = createFixture();
  beforeEach(async () => {
    f.backend = await make({ maxRecordBytes: 4096 });
    await f.backend.open();
    f.reset();
  });
  afterEach(async () => {
    await f.backend.close();
  });

  it('refuses a task whose payload is past maxRecordBytes, and stores the others', async () => {
    const big = f.task({ payload: { text: 'x'.repeat(5000) } });
    await rejectsWith(f.backend.enqueue([big]), 'payload_too_large');
    expect(await f.backend.get(big.id)).toBeUndefined();
    const small = f.task();
    await f.enqueue(small);
    f.backend = await (f.backend as RemoteBackend).make({ maxRecordBytes: 4096 });
    await f.backend.open();
    expect((await f.lease(5)).map((t) => t.id)).toEqual([small.id]);
  });

  it('refuses a result past maxRecordBytes, leaving the lease to be answered again', async () => {
    const [a, b] = [f.task(), f.task()];
    await f.enqueue(a, b);
    const [la, lb] = await f.lease(2);
    const big = { text: 'x'.repeat(5000) };
    await rejectsWith(f.backend.complete(a.id, la!.leaseToken!, big, T0 + 1), 'payload_too_large');
    expect((await f.backend.get(a.id))?.status).toBe('leased');
    const out = await f.backend.completeMany!(
      [
        { id: a.id, leaseToken: la!.leaseToken!, result: big },
        { id: b.id, leaseToken: lb!.leaseToken!, result: 'ok' },
      ],
      T0 + 2,
    );
    expect(out.map((o) => ('code' in o ? o.code : o.status))).toEqual([
      'payload_too_large',
      'completed',
    ]);
    await f.backend.complete(a.id, la!.leaseToken!, 'small', T0 + 3);
    expect((await f.backend.get(a.id))?.result).toBe('small');
  });
});
