import { SwitchboardError } from '@switchboard/core';
import type { FsAdapter, JournalFile } from './fs-adapter.js';
import { generations, logName, SNAPSHOT_TEMP, snapshotName } from './journal-files.js';
import type { Durability } from './journal-options.js';

/** What a {@link LogWriter} needs to know and call. */
export interface LogWriterOptions {
  fs: FsAdapter;
  dir: string;
  durability: Durability;
  flushIntervalMs: number;
  compactAfterBytes: number;
  /** The generation of `file`, and its size. */
  gen: number;
  file: JournalFile;
  size: number;
  /** Runs before each snapshot (drops what the snapshot need not hold). */
  prepareSnapshot(): Promise<void>;
  /**
   * Captures the state at this instant (synchronously) and returns its snapshot's frames,
   * which may be encoded lazily as they are iterated.
   */
  snapshot(gen: number): Iterable<Uint8Array>;
}

/** Figures of a {@link LogWriter}. */
export interface LogWriterStats {
  gen: number;
  /** Bytes in the current log. */
  logBytes: number;
  /** Snapshots written since open. */
  compactions: number;
  /** Writes and fsyncs issued since open. */
  writes: number;
  syncs: number;
}

interface Batch {
  chunks: Uint8Array[];
  bytes: number;
  promise: Promise<void>;
  resolve(): void;
  reject(err: unknown): void;
}

const RESOLVED = Promise.resolve();
// Under `none` a batch is written once it holds this much, whatever the interval.
const NONE_FLUSH_BYTES = 1 << 20;
const SNAPSHOT_WRITE_BYTES = 1 << 20;

/**
 * Appends frames to the current log with group commit: the frames appended while a write
 * is in flight form the next batch, written by one `write` and (under `fsync`) one
 * `fsync`, and every append of a batch resolves when the batch is done. Once the log passes
 * `compactAfterBytes` it starts a new generation: the state is snapshotted, later frames go
 * to a new log, and the old log and snapshot are deleted once the new snapshot is durable.
 * A failed write or fsync fails every pending append and every later one (`unavailable`):
 * what the OS did with the failed data is unknown, so only a reopen (which replays what is
 * on disk) can go on safely.
 */
export class LogWriter {
  private batch: Batch | undefined;
  private inFlight: Batch | undefined;
  private draining: Promise<void> | undefined;
  private compaction: Promise<void> | undefined;
  private syncDue = false;
  private unsynced = false;
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly o: LogWriterOptions;
  private stat: LogWriterStats;
  /** Set once a write failed; every append rejects with it. */
  failure: SwitchboardError | undefined;

  constructor(options: LogWriterOptions) {
    this.o = options;
    this.stat = { gen: options.gen, logBytes: options.size, compactions: 0, writes: 0, syncs: 0 };
    if (options.durability !== 'fsync') {
      this.timer = setInterval(() => {
        this.syncDue = options.durability === 'write';
        this.kick();
      }, options.flushIntervalMs);
      // The interval must not keep a process alive that has nothing else to do.
      (this.timer as { unref?: () => void }).unref?.();
    }
  }

  get stats(): LogWriterStats {
    return { ...this.stat };
  }

  /** Appends one frame; resolves once it is as durable as the durability level promises. */
  append(frame: Uint8Array): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    let b = this.batch;
    if (b === undefined) b = this.batch = newBatch();
    b.chunks.push(frame);
    b.bytes += frame.length;
    if (this.o.durability === 'none') {
      if (b.bytes >= NONE_FLUSH_BYTES) this.kick();
      return RESOLVED;
    }
    this.kick();
    return b.promise;
  }

  /** Writes and fsyncs what is pending, waits for a compaction under way, closes the log. */
  async close(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.syncDue = true;
    this.kick();
    while (this.draining !== undefined) await this.draining;
    await this.compaction;
    await this.o.file.close();
    if (this.failure !== undefined) throw this.failure;
  }

  private kick(): void {
    if (this.draining !== undefined || this.failure !== undefined) return;
    this.draining = this.drain();
  }

  private async drain(): Promise<void> {
    try {
      // Let every append of this tick join the batch before it is written.
      await null;
      for (;;) {
        const b = this.batch;
        if (b !== undefined) {
          this.batch = undefined;
          await this.write(b);
          if (this.o.durability === 'fsync') await this.sync();
          b.resolve();
          this.inFlight = undefined;
        } else if (this.syncDue) {
          this.syncDue = false;
          if (this.unsynced) await this.sync();
        } else {
          break;
        }
        if (this.stat.logBytes >= this.o.compactAfterBytes && this.compaction === undefined) {
          await this.rotate();
        }
      }
    } catch (err) {
      this.fail(err);
    } finally {
      this.draining = undefined;
    }
  }

  private async write(b: Batch): Promise<void> {
    this.inFlight = b;
    await this.o.file.write(b.chunks.length === 1 ? (b.chunks[0] as Uint8Array) : concat(b));
    this.stat.writes++;
    this.stat.logBytes += b.bytes;
    this.unsynced = true;
  }

  private async sync(): Promise<void> {
    this.unsynced = false;
    await this.o.file.sync();
    this.stat.syncs++;
  }

  /** Starts a new generation; the snapshot is written while appends go on to the new log. */
  private async rotate(): Promise<void> {
    const { fs, dir } = this.o;
    await this.o.prepareSnapshot();
    // No await from here to the capture: the snapshot must hold exactly the frames of the
    // old log, the batch not yet written included, so that batch goes to the old log.
    const tail = this.batch;
    this.batch = undefined;
    const gen = this.stat.gen + 1;
    const frames = this.o.snapshot(gen);
    if (tail !== undefined) await this.write(tail);
    await this.sync();
    tail?.resolve();
    this.inFlight = undefined;
    await this.o.file.close();
    this.o.file = await fs.open(fs.join(dir, logName(gen)));
    // The new log's name must be durable before any frame in it is acknowledged.
    await fs.syncDir(dir);
    this.stat.gen = gen;
    this.stat.logBytes = 0;
    this.compaction = this.writeSnapshot(gen, frames)
      .catch((err: unknown) => this.fail(err))
      .finally(() => {
        this.compaction = undefined;
      });
  }

  private async writeSnapshot(gen: number, frames: Iterable<Uint8Array>): Promise<void> {
    const { fs, dir } = this.o;
    const temp = fs.join(dir, SNAPSHOT_TEMP);
    await fs.remove(temp);
    const file = await fs.open(temp);
    try {
      // About 1 MiB a write: few syscalls, and the event loop runs between two writes, so
      // encoding a large snapshot never blocks it for long.
      let chunks: Uint8Array[] = [];
      let bytes = 0;
      for (const frame of frames) {
        chunks.push(frame);
        bytes += frame.length;
        if (bytes < SNAPSHOT_WRITE_BYTES) continue;
        await file.write(concat({ chunks, bytes }));
        chunks = [];
        bytes = 0;
      }
      if (bytes > 0) await file.write(concat({ chunks, bytes }));
      await file.sync();
    } finally {
      await file.close();
    }
    await fs.rename(temp, fs.join(dir, snapshotName(gen)));
    await fs.syncDir(dir);
    // The new snapshot and log hold everything now: older generations can go.
    const { logs, snapshots } = generations(await fs.list(dir));
    for (const old of logs) if (old < gen) await fs.remove(fs.join(dir, logName(old)));
    for (const old of snapshots) if (old < gen) await fs.remove(fs.join(dir, snapshotName(old)));
    this.stat.compactions++;
  }

  private fail(err: unknown): void {
    if (this.failure === undefined) {
      const reason = err instanceof Error ? err.message : String(err);
      this.failure = new SwitchboardError('unavailable', `[journal] write failed: ${reason}`, {
        retryable: false,
        cause: err,
      });
    }
    for (const b of [this.inFlight, this.batch]) b?.reject(this.failure);
    this.inFlight = undefined;
    this.batch = undefined;
  }
}

function newBatch(): Batch {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Under `none` nobody awaits a batch: a failure is reported by the next append instead.
  promise.catch(() => undefined);
  return { chunks: [], bytes: 0, promise, resolve, reject };
}

function concat(b: { chunks: Uint8Array[]; bytes: number }): Uint8Array {
  const out = new Uint8Array(b.bytes);
  let at = 0;
  for (const chunk of b.chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}
