import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TaskRecord } from '@switchboard/core';
import {
  createJournalBackend,
  type JournalBackend,
  LOCK_FILE,
  nodeFs,
} from '@switchboard/plugins/journal';
import { afterAll, describe, expect, it } from 'vitest';
import { T0, task, tempDirs } from './helpers.js';

const dirs = tempDirs();
afterAll(() => dirs.cleanup());

const dirBytes = (dir: string) =>
  readdirSync(dir).reduce((n, name) => n + statSync(join(dir, name)).size, 0);

/** 10 tasks a round through enqueue, lease and complete; 3 a round left queued. */
async function work(backend: JournalBackend, rounds = 30): Promise<TaskRecord[]> {
  const tasks: TaskRecord[] = [];
  for (let round = 0; round < rounds; round++) {
    const batch = Array.from({ length: 10 }, () => task({ payload: { text: 'y'.repeat(100) } }));
    tasks.push(...batch);
    await backend.enqueue(batch);
    const leased = await backend.lease({ capability: 'cap', agentId: 'a', max: 7, now: T0 });
    for (const t of leased) await backend.complete(t.id, t.leaseToken!, { ok: round }, T0 + 1);
  }
  return tasks;
}

async function records(backend: JournalBackend, tasks: TaskRecord[]) {
  return Promise.all(tasks.map(async (t) => structuredClone(await backend.get(t.id))));
}

describe('journal compaction', () => {
  it('snapshots past the threshold, keeps the state and bounds the files', async () => {
    const plain = dirs.make();
    const uncompacted = createJournalBackend({ dir: plain, maxRetained: 20 });
    await uncompacted.open();
    await work(uncompacted, 60);
    await uncompacted.close();

    const dir = dirs.make();
    const backend = createJournalBackend({ dir, compactAfterBytes: 16 * 1024, maxRetained: 20 });
    await backend.open();
    const tasks = await work(backend, 60);
    const before = await records(backend, tasks);
    expect(backend.journalStats().compactions).toBeGreaterThanOrEqual(3);
    await backend.close();

    const names = readdirSync(dir).sort();
    expect(names).toHaveLength(2);
    expect(names[0]).toMatch(/^log-\d{12}\.sbj$/);
    expect(names[1]).toMatch(/^snapshot-\d{12}\.sbj$/);
    expect(dirBytes(dir)).toBeLessThan(dirBytes(plain) / 2);

    const again = createJournalBackend({ dir, maxRetained: 20 });
    await again.open();
    expect(await records(again, tasks)).toEqual(before);
    expect((await again.stats()).depth).toBe(180);
    await again.close();
  });

  it('drops records the retention bounds evicted from its snapshots', async () => {
    const dir = dirs.make();
    const backend = createJournalBackend({ dir, compactAfterBytes: 4096, maxRetained: 10 });
    await backend.open();
    const tasks = await work(backend);
    await backend.close();
    const again = createJournalBackend({ dir, maxRetained: 10 });
    await again.open();
    expect(again.journalStats().records).toBe(90 + 10);
    expect(await again.get(tasks[0]!.id)).toBeUndefined();
    expect(await again.get(tasks.at(-1)!.id)).toMatchObject({ status: 'queued' });
    await again.close();
  });

  it('recovers from a compaction cut short before its snapshot was renamed', async () => {
    const dir = dirs.make();
    const fs = nodeFs();
    const backend = createJournalBackend({
      dir,
      compactAfterBytes: 8 * 1024,
      onWarning: () => {},
      fs: {
        ...fs,
        rename: async () => {
          throw Object.assign(new Error('EIO: crash'), { code: 'EIO' });
        },
      },
    });
    await backend.open();
    const tasks: TaskRecord[] = [];
    const err = await (async () => {
      for (let i = 0; i < 200; i++) {
        const t = task({ payload: 'z'.repeat(100) });
        await backend.enqueue([t]);
        tasks.push(t);
      }
    })().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'unavailable' });
    await expect(backend.close()).rejects.toMatchObject({ code: 'unavailable' });
    expect(readdirSync(dir)).toContain('snapshot.tmp');
    expect(readdirSync(dir).filter((n) => n.startsWith('log-')).length).toBe(2);

    const again = createJournalBackend({ dir });
    await again.open();
    for (const t of tasks) expect(await again.get(t.id)).toMatchObject({ status: 'queued' });
    expect(readdirSync(dir)).not.toContain('snapshot.tmp');
    await again.close();
  });

  it('deletes generations a finished compaction left behind', async () => {
    const dir = dirs.make();
    const backend = createJournalBackend({ dir, compactAfterBytes: 4096 });
    await backend.open();
    const tasks = await work(backend);
    const gen = backend.journalStats().gen;
    await backend.close();
    const stale = [`log-${String(gen - 1).padStart(12, '0')}.sbj`, `snapshot-000000000000.sbj`];
    for (const name of stale) writeFileSync(join(dir, name), 'garbage from before the snapshot');
    const again = createJournalBackend({ dir });
    await again.open();
    expect(readdirSync(dir).sort()).toEqual([
      LOCK_FILE,
      `log-${String(gen).padStart(12, '0')}.sbj`,
      `snapshot-${String(gen).padStart(12, '0')}.sbj`,
    ]);
    expect((await again.get(tasks[0]!.id))?.status).toBe('completed');
    await again.close();
  });
});
