import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { isSwitchboardError, SwitchboardError } from '@switchboard/core';
import { createJournalBackend, LOCK_FILE, nodeFs } from '@switchboard/plugins/journal';
import { afterAll, describe, expect, it } from 'vitest';
import { T0, task, tempDirs } from './helpers.js';

const dirs = tempDirs();
afterAll(() => dirs.cleanup());

async function openError(dir: string): Promise<SwitchboardError> {
  const backend = createJournalBackend({ dir });
  const error = await backend.open().then(
    () => undefined,
    (e: unknown) => e,
  );
  await backend.close();
  if (!(error instanceof SwitchboardError)) throw new Error(`expected a refusal, got ${error}`);
  return error;
}

describe('journal directory lock', () => {
  it('refuses a second backend on a directory in use, and frees it on close', async () => {
    const dir = dirs.make();
    const first = createJournalBackend({ dir });
    await first.open();
    const [queued] = await first.enqueue([task()]);
    expect(readFileSync(join(dir, LOCK_FILE), 'utf8').trim()).toBe(`${process.pid}@${hostname()}`);

    const refused = await openError(dir);
    expect(isSwitchboardError(refused, 'conflict')).toBe(true);
    expect(refused.message).toContain(dir);
    // The refused backend touched nothing: the first one still works.
    const [leased] = await first.lease({ capability: 'cap', agentId: 'a', max: 1, now: T0 });
    expect(leased?.id).toBe(queued?.task.id);

    await first.close();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    const again = createJournalBackend({ dir });
    await again.open();
    expect((await again.get(queued?.task.id as string))?.status).toBe('queued');
    await again.close();
  });

  it('takes over a lock left by a process that died', async () => {
    const dir = dirs.make();
    const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    const deadPid = Number(child.stdout.toString());
    expect(deadPid).toBeGreaterThan(0);
    writeFileSync(join(dir, LOCK_FILE), `${deadPid}@${hostname()}\n`);
    const backend = createJournalBackend({ dir });
    await backend.open();
    expect(readFileSync(join(dir, LOCK_FILE), 'utf8').trim()).toBe(`${process.pid}@${hostname()}`);
    await backend.close();
  });

  it('refuses a lock held by a live process, and one held on another host', async () => {
    const dir = dirs.make();
    // The parent of this test process is alive for as long as the test runs.
    writeFileSync(join(dir, LOCK_FILE), `${process.ppid}@${hostname()}\n`);
    const live = await openError(dir);
    expect(live.code).toBe('conflict');
    expect(live.details).toMatchObject({ owner: `${process.ppid}@${hostname()}` });
    // The refusal left the holder's lock in place.
    expect(readFileSync(join(dir, LOCK_FILE), 'utf8').trim()).toBe(`${process.ppid}@${hostname()}`);

    writeFileSync(join(dir, LOCK_FILE), '1234@elsewhere.example\n');
    const remote = await openError(dir);
    expect(remote.details).toMatchObject({ owner: '1234@elsewhere.example' });
  });

  it('takes no lock with an adapter that has none', async () => {
    const dir = dirs.make();
    const { lock: _lock, ...withoutLock } = nodeFs();
    const backend = createJournalBackend({ dir, fs: withoutLock });
    await backend.open();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    await backend.close();
  });
});
