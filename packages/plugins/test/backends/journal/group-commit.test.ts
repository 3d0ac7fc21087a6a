import { createLeaseToken, isSwitchboardError } from '@switchboard/core';
import {
  createJournalBackend,
  type JournalBackendOptions,
  nodeFs,
} from '@switchboard/plugins/journal';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { countingFs, T0, task, tempDirs } from './helpers.js';

const dirs = tempDirs();
afterAll(() => dirs.cleanup());
afterEach(() => {
  vi.useRealTimers();
});

async function opened(over: Partial<JournalBackendOptions> = {}) {
  const fs = countingFs();
  const dir = dirs.make();
  const backend = createJournalBackend({ dir, fs, ...over });
  await backend.open();
  return { backend, fs, dir };
}

describe('journal group commit', () => {
  it('batches 1,000 enqueues of one tick into a handful of writes and fsyncs', async () => {
    const { backend, fs, dir } = await opened();
    const tasks = Array.from({ length: 1000 }, () => task());
    await Promise.all(tasks.map((t) => backend.enqueue([t])));
    expect(fs.syncs).toBeLessThanOrEqual(3);
    expect(fs.writes).toBeLessThanOrEqual(3);
    await backend.close();
    const again = createJournalBackend({ dir });
    await again.open();
    expect((await again.stats()).depth).toBe(1000);
    await again.close();
  });

  it('batches the completions of one tick, and fsyncs each sequential call', async () => {
    const { backend, fs } = await opened();
    await backend.enqueue(Array.from({ length: 200 }, () => task()));
    const leased = await backend.lease({ capability: 'cap', agentId: 'a', max: 200, now: T0 });
    const before = fs.syncs;
    await Promise.all(leased.map((t) => backend.complete(t.id, t.leaseToken!, 'ok', T0 + 1)));
    expect(fs.syncs - before).toBeLessThanOrEqual(3);
    const mark = fs.syncs;
    for (let i = 0; i < 5; i++) await backend.enqueue([task()]);
    // Each resolved only once its own fsync was done.
    expect(fs.syncs - mark).toBe(5);
    await backend.close();
  });

  it('completes many leases in one frame, each failure in its own slot', async () => {
    const { backend, dir } = await opened();
    await backend.enqueue([task(), task()]);
    const token = createLeaseToken();
    const [a, b] = await backend.lease({ capability: 'cap', agentId: 'a', max: 2, now: T0, token });
    const out = await backend.completeMany(
      [
        { id: a!.id, leaseToken: a!.leaseToken!, result: 1 },
        { id: b!.id, leaseToken: 'stale', result: 2 },
        { id: 'nope', leaseToken: 'x', result: 3 },
      ],
      T0 + 1,
    );
    expect(out[0]).toMatchObject({ status: 'completed', result: 1 });
    expect([out[1], out[2]].map((e) => isSwitchboardError(e) && e.code)).toEqual([
      'conflict',
      'not_found',
    ]);
    await backend.close();
    const again = createJournalBackend({ dir });
    await again.open();
    expect(await again.get(a!.id)).toMatchObject({ status: 'completed', result: 1 });
    expect(await again.get(b!.id)).toMatchObject({ status: 'queued', attempts: 1 });
    await again.close();
  });

  it('under write: acknowledges after the write and fsyncs on the interval', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const { backend, fs } = await opened({ durability: 'write', flushIntervalMs: 50 });
    await Promise.all(Array.from({ length: 100 }, () => backend.enqueue([task()])));
    expect(fs.writes).toBeGreaterThanOrEqual(1);
    expect(fs.syncs).toBe(0);
    vi.advanceTimersByTime(50);
    await vi.waitFor(() => expect(fs.syncs).toBe(1));
    // Nothing new: the next interval has nothing to fsync.
    vi.advanceTimersByTime(50);
    await new Promise((r) => setTimeout(r, 5));
    expect(fs.syncs).toBe(1);
    await backend.close();
  });

  it('under none: acknowledges at once, writes on the interval and at close', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const { backend, fs, dir } = await opened({ durability: 'none', flushIntervalMs: 50 });
    await backend.enqueue([task()]);
    await new Promise((r) => setTimeout(r, 5));
    expect(fs.writes).toBe(0);
    vi.advanceTimersByTime(50);
    await vi.waitFor(() => expect(fs.writes).toBe(1));
    expect(fs.syncs).toBe(0);
    await backend.enqueue([task()]);
    await backend.close();
    expect(fs.writes).toBe(2);
    expect(fs.syncs).toBe(1);
    const again = createJournalBackend({ dir });
    await again.open();
    expect((await again.stats()).depth).toBe(2);
    await again.close();
  });

  it('fails the pending and every later operation once a write fails', async () => {
    const inner = nodeFs();
    let broken = false;
    const dir = dirs.make();
    const backend = createJournalBackend({
      dir,
      fs: {
        ...inner,
        async open(path) {
          const file = await inner.open(path);
          return {
            ...file,
            write: (data) => (broken ? Promise.reject(new Error('ENOSPC')) : file.write(data)),
          };
        },
      },
    });
    await backend.open();
    const kept = task();
    await backend.enqueue([kept]);
    broken = true;
    await expect(backend.enqueue([task()])).rejects.toMatchObject({
      code: 'unavailable',
      retryable: false,
    });
    await expect(backend.get(kept.id)).rejects.toMatchObject({ code: 'unavailable' });
    await expect(backend.close()).rejects.toMatchObject({ code: 'unavailable' });
    const again = createJournalBackend({ dir });
    await again.open();
    expect((await again.stats()).depth).toBe(1);
    await again.close();
  });
});

describe('journal options and lifecycle', () => {
  it('fails fast on options that cannot work, naming them', () => {
    const bad: Partial<JournalBackendOptions>[] = [
      { dir: '' },
      { dir: 'x', durability: 'sometimes' as 'fsync' },
      { dir: 'x', compactAfterBytes: 10 },
      { dir: 'x', flushIntervalMs: 0 },
      { dir: 'x', repair: 'skip' as 'truncate' },
      { dir: 'x', maxRetained: -1 },
    ];
    for (const options of bad) {
      expect(() => createJournalBackend(options as JournalBackendOptions)).toThrow(
        expect.objectContaining({ code: 'invalid_config' }),
      );
    }
  });

  it('refuses calls before open and after close, and opens and closes idempotently', async () => {
    const backend = createJournalBackend({ dir: dirs.make() });
    await expect(backend.enqueue([task()])).rejects.toMatchObject({ code: 'unavailable' });
    await Promise.all([backend.open(), backend.open()]);
    expect(backend.name).toBe('journal');
    expect(backend.durable).toBe(true);
    await backend.close();
    await backend.close();
    await expect(backend.stats()).rejects.toMatchObject({ code: 'unavailable' });
    await expect(backend.open()).rejects.toMatchObject({ code: 'unavailable' });
    expect(() => backend.onAvailable(() => {})).toThrow(/closed/);
  });

  it('tells listeners of a capability only once its enqueue frame is in the log', async () => {
    const { backend, dir } = await opened();
    const seen: string[] = [];
    // A listener that leases at once: its lease frame must come after the enqueue frame.
    backend.onAvailable((cap) => {
      seen.push(cap);
      void backend.lease({ capability: cap, agentId: 'l', max: 1, now: T0 });
    });
    const t = task({ capability: 'fast' });
    await backend.enqueue([t]);
    await vi.waitFor(async () => expect((await backend.get(t.id))?.status).toBe('leased'));
    expect(seen).toEqual(['fast']);
    await backend.close();
    const again = createJournalBackend({ dir });
    await again.open();
    expect(await again.get(t.id)).toMatchObject({ status: 'queued', agentId: 'l' });
    await again.close();
  });
});
