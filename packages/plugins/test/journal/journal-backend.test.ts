import type { Backend } from '@switchboard/core';
import { createJournalBackend, type JournalBackend } from '@switchboard/plugins/journal';
import { afterAll, beforeEach, describe } from 'vitest';
import { testBackend } from '../../../../test/conformance/backend.js';
import { createFixture } from '../../../../test/conformance/backend-fixture.js';
import { backendReopen } from '../../../../test/conformance/backend-reopen.js';
import { tempDirs } from './helpers.js';

const dirs = tempDirs();
afterAll(() => dirs.cleanup());

const dirOf = new WeakMap<Backend, string>();
function make(dir = dirs.make()): JournalBackend {
  const backend = createJournalBackend({ dir, onWarning: () => {} });
  dirOf.set(backend, dir);
  return backend;
}

// A clean restart: close (flush, fsync), then a new backend over the same directory.
testBackend('journal', () => make(), {
  durable: true,
  numRuns: 30,
  reopen: async (backend) => {
    await backend.close();
    return make(dirOf.get(backend));
  },
});

// A crash: the old backend is dropped without close, after its acknowledged operations.
// Its file handle stays open (as a killed process's would until the kernel closes it).
describe('journal: the reopen cases after a crash (no close)', () => {
  const f = createFixture();
  const abandoned: Backend[] = [];
  afterAll(async () => {
    for (const b of abandoned) await b.close();
  });
  beforeEach(async () => {
    f.backend = make();
    await f.backend.open();
    f.reset();
  });
  backendReopen(f, async (backend) => {
    abandoned.push(backend);
    return make(dirOf.get(backend));
  });
});
