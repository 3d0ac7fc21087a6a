import { mkdir, open, readdir, readFile, rename, rm, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { type JournalLock, lockDir } from './dir-lock.js';

/** A file open for appending. */
export interface JournalFile {
  /** Appends all of `data` at the end of the file. */
  write(data: Uint8Array): Promise<void>;
  /** Makes what was written durable (`fsync`). */
  sync(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The file operations the journal needs, and nothing more, so that a runtime without
 * `node:fs` (or a test that counts `fsync` calls) can supply its own.
 */
export interface FsAdapter {
  /** Creates `dir` and its parents when missing. */
  mkdir(dir: string): Promise<void>;
  /** The names of the entries of `dir`. */
  list(dir: string): Promise<string[]>;
  /** The whole content of a file. */
  read(path: string): Promise<Uint8Array>;
  /** Opens `path` for appending, creating it when missing. */
  open(path: string): Promise<JournalFile>;
  /** Cuts a file down to `size` bytes. */
  truncate(path: string, size: number): Promise<void>;
  /** Renames atomically, replacing `to`. */
  rename(from: string, to: string): Promise<void>;
  /** Deletes a file; a missing file is not an error. */
  remove(path: string): Promise<void>;
  /** Makes the entries of `dir` (created, renamed, deleted files) durable. */
  syncDir(dir: string): Promise<void>;
  /** `dir` and `name` joined into a path. */
  join(dir: string, name: string): string;
  /**
   * Optional: takes the directory's lock, so that a second process on the same directory is
   * refused (`conflict`) instead of corrupting it. An adapter without it takes no lock.
   */
  lock?(dir: string): Promise<JournalLock>;
}

/**
 * The {@link FsAdapter} over `node:fs/promises`, which Node, Bun and Deno all provide.
 *
 * @example
 * ```ts
 * const backend = createJournalBackend({ dir: './data', fs: nodeFs() })
 * ```
 */
export function nodeFs(): FsAdapter {
  return {
    async mkdir(dir) {
      await mkdir(dir, { recursive: true });
    },
    list: (dir) => readdir(dir),
    read: (path) => readFile(path),
    async open(path) {
      const handle = await open(path, 'a');
      return {
        async write(data) {
          // A regular file takes a whole write in practice, but POSIX allows a short one.
          for (let done = 0; done < data.length; ) {
            const { bytesWritten } = await handle.write(data, done, data.length - done);
            done += bytesWritten;
          }
        },
        sync: () => handle.sync(),
        close: () => handle.close(),
      };
    },
    truncate: (path, size) => truncate(path, size),
    rename: (from, to) => rename(from, to),
    remove: (path) => rm(path, { force: true }),
    async syncDir(dir) {
      let handle: Awaited<ReturnType<typeof open>> | undefined;
      try {
        handle = await open(dir, 'r');
        await handle.sync();
      } catch (err) {
        // Windows cannot open or fsync a directory (EISDIR, EPERM); there a rename is
        // durable once the file's own data is, so skipping it loses nothing.
        const code = (err as { code?: string }).code;
        if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL') throw err;
      } finally {
        await handle?.close();
      }
    },
    join,
    lock: lockDir,
  };
}
