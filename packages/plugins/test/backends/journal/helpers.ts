import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FsAdapter, nodeFs } from '@switchboard/plugins/journal';
import { taskRecords } from '@switchboard/testing';

/** Fresh temp directories for one test file, deleted by `cleanup()`. */
export function tempDirs(): { make(): string; cleanup(): void } {
  const dirs: string[] = [];
  return {
    make() {
      const dir = mkdtempSync(join(tmpdir(), 'sb-journal-'));
      dirs.push(dir);
      return dir;
    },
    cleanup() {
      for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The node adapter, counting writes and fsyncs. */
export function countingFs(): FsAdapter & { writes: number; syncs: number } {
  const inner = nodeFs();
  const fs = {
    ...inner,
    writes: 0,
    syncs: 0,
    async open(path: string) {
      const file = await inner.open(path);
      return {
        write: (data: Uint8Array) => {
          fs.writes++;
          return file.write(data);
        },
        sync: () => {
          fs.syncs++;
          return file.sync();
        },
        close: () => file.close(),
      };
    },
  };
  return fs;
}

export const T0 = 1_000_000;

/** A new queued task record. */
export const task = taskRecords('t', {}, T0);
