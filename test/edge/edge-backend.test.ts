/**
 * The Durable Object backend (@switchboard/plugins/durable-object) held to the conformance
 * suite of every backend, where it runs: on a Durable Object's storage on workerd. Each case
 * gets a fresh object of test/edge/fixtures/backend-host.ts, whose backend a
 * {@link RemoteBackend} drives over HTTP from this process.
 */
import type { Backend } from '@switchboard/core';
import { backendReopen, createFixture, testBackend } from '@switchboard/testing';
import { afterAll, beforeAll, beforeEach, describe } from 'vitest';
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
function make(): Promise<RemoteBackend> {
  return new RemoteBackend(host.url, `object-${++objects}`).make();
}

// A clean restart: the backend is closed (its writes done), and a new one reads the
// object's storage, as a new object does after the runtime evicted the old one.
testBackend('durable-object (on workerd)', make, {
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
  backendReopen(f, (backend: Backend) => (backend as RemoteBackend).make());
});
