import type { Backend } from '@switchboard/core';
import { createJournalBackend, type JournalBackend, nodeFs } from '@switchboard/plugins/journal';
import { backendReopen, backendSchedules, createFixture, testBackend } from '@switchboard/testing';
import { afterAll, beforeEach, describe } from 'vitest';
import { tempDirs } from './helpers.js';

const dirs = tempDirs();
afterAll(() => dirs.cleanup());

const dirOf = new WeakMap<Backend, string>();
function make(dir = dirs.make(), lock = true): JournalBackend {
  const { lock: _lock, ...unlocked } = nodeFs();
  const backend = createJournalBackend({
    dir,
    onWarning: () => {},
    ...(lock ? {} : { fs: unlocked }),
  });
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
// A killed process's directory lock is stale and taken over (dir-lock.test.ts); the dropped
// backend here lives on in this process, so these backends take no lock.
describe('journal: the reopen cases after a crash (no close)', () => {
  const f = createFixture();
  const abandoned: Backend[] = [];
  afterAll(async () => {
    for (const b of abandoned) await b.close();
  });
  beforeEach(async () => {
    f.backend = make(undefined, false);
    await f.backend.open();
    f.reset();
  });
  const crash = async (backend: Backend) => {
    abandoned.push(backend);
    return make(dirOf.get(backend), false);
  };
  backendReopen(f, crash);
  backendSchedules(f, crash);
});
