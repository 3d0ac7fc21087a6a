import { link, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { SwitchboardError } from '@switchboard/core';

/** The name of the lock file in a journal directory. */
export const LOCK_FILE = 'LOCK';

/** A held journal directory lock. */
export interface JournalLock {
  /** Gives the directory back (deletes the lock file). Idempotent. */
  release(): Promise<void>;
}

// Directories locked by this process: a second backend on one of them in the same process
// is refused too (the lock file names this process, which is alive).
const held = new Set<string>();

/** True when `pid` names a process on this machine that is still alive. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as { code?: string }).code === 'EPERM';
  }
}

function inUse(dir: string, owner: string): SwitchboardError {
  return new SwitchboardError(
    'conflict',
    `[journal] ${dir} is in use by ${owner}; two processes on one journal directory would ` +
      `corrupt it (remove ${join(dir, LOCK_FILE)} only if that process is gone)`,
    { details: { dir, owner } },
  );
}

/**
 * Takes the lock of a journal directory: a `LOCK` file naming this process (pid and host),
 * created atomically (a hard link of a private temp file, which fails if the lock exists).
 * A lock left by a process that died (`kill -9`) on this host is taken over; a live holder,
 * or a holder on another host (whose liveness cannot be checked from here), is refused.
 *
 * It guards against the accident of starting a second server on the same directory, as a
 * pid file does; it is not a lock against a process that ignores it.
 *
 * @throws SwitchboardError `conflict` when another live process (or another backend of this
 * process) holds the directory.
 */
export async function lockDir(dir: string): Promise<JournalLock> {
  const path = join(dir, LOCK_FILE);
  if (held.has(path)) throw inUse(dir, `another journal backend of this process (${process.pid})`);
  const me = `${process.pid}@${hostname()}`;
  const temp = join(dir, `LOCK.${process.pid}.${crypto.randomUUID()}`);
  await writeFile(temp, `${me}\n`);
  try {
    // Twice at most: once more after clearing a stale lock.
    for (let round = 0; ; round++) {
      try {
        await link(temp, path);
        break;
      } catch (error) {
        if ((error as { code?: string }).code !== 'EEXIST' || round > 0) throw error;
      }
      const owner = (await readFile(path, 'utf8').catch(() => '')).trim();
      const [pid, host] = owner.split('@');
      // This process's own pid is stale too: its holders are all in `held`.
      const stale =
        owner === '' ||
        (host === hostname() && (Number(pid) === process.pid || !alive(Number(pid))));
      if (!stale) throw inUse(dir, owner);
      await rm(path, { force: true });
    }
  } catch (error) {
    if ((error as { code?: string }).code === 'EEXIST') {
      const owner = (await readFile(path, 'utf8').catch(() => '')).trim();
      throw inUse(dir, owner || 'another process');
    }
    throw error;
  } finally {
    await rm(temp, { force: true });
  }
  held.add(path);
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      held.delete(path);
      await rm(path, { force: true });
    },
  };
}
