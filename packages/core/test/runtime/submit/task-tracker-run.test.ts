import { describe, expect, it } from 'vitest';
import type { TaskRecord, TaskStatus } from '../../../src/model/task.js';
import { idCounter, nextTaskId } from '../../../src/model/task-id.js';
import { BatchResult } from '../../../src/runtime/submit/batch-result.js';
import { TaskTracker } from '../../../src/runtime/submit/task-tracker.js';

function record(id: string, status: TaskStatus, result?: unknown): TaskRecord {
  const now = Date.now();
  const r: TaskRecord = {
    id,
    capability: 'c',
    payload: null,
    priority: 'normal',
    status,
    attempts: 1,
    maxAttempts: 1,
    timeoutMs: 1000,
    availableAt: now,
    createdAt: now,
    updatedAt: now,
  };
  if (result !== undefined) r.result = result;
  return r;
}

/** A batch of `n` queued records with consecutive ids, awaited as one run. */
function queuedRun(tracker: TaskTracker, n: number) {
  const records = Array.from({ length: n }, () => record(nextTaskId(), 'queued'));
  const batch = new BatchResult(n);
  records.forEach((r, i) => {
    expect(batch.live(i, r)).toBe(true);
    batch.inRun(i);
  });
  tracker.waitRun(idCounter(records[0]!.id), n, batch);
  return { records, batch };
}

function complete(r: TaskRecord, result: unknown): void {
  r.status = 'completed';
  r.result = result;
}

describe('TaskTracker runs (runMany batches waited for without an entry per task)', () => {
  it('resolves once every task of the run ended, each end counted once', async () => {
    const tracker = new TaskTracker(Date.now());
    const { records, batch } = queuedRun(tracker, 3);
    expect(tracker.awaits(records[1]!.id)).toBe(true);
    complete(records[1]!, 'b');
    tracker.ended(records[1]!);
    // The same end told twice (a notice from another process and the local one) counts once.
    tracker.ended(records[1]!);
    expect(tracker.awaits(records[1]!.id)).toBe(false);
    expect(batch.settled).toBe(false);
    complete(records[0]!, 'a');
    tracker.ended(records[0]!);
    complete(records[2]!, 'c');
    tracker.ended(records[2]!);
    await expect(batch.promise).resolves.toEqual(['a', 'b', 'c']);
    expect(tracker.awaits(records[0]!.id)).toBe(false);
  });

  it('ignores another task whose id has a counter inside the run', () => {
    const tracker = new TaskTracker(Date.now());
    const { records, batch } = queuedRun(tracker, 2);
    const mine = records[0]!.id;
    const twin = `${mine.slice(0, 3)}${mine[3] === 'a' ? 'b' : 'a'}${mine.slice(4)}`;
    expect(idCounter(twin)).toBe(idCounter(mine));
    expect(tracker.awaits(twin)).toBe(false);
    tracker.ended(record(twin, 'completed', 'not mine'));
    expect(batch.settled).toBe(false);
    expect(tracker.awaits(mine)).toBe(true);
  });

  it('rejects the batch at the first task ending without a result, and forgets the run', async () => {
    const tracker = new TaskTracker(Date.now());
    const { records, batch } = queuedRun(tracker, 2);
    records[0]!.status = 'dead';
    records[0]!.error = { message: 'boom' };
    tracker.ended(records[0]!);
    await expect(batch.promise).rejects.toMatchObject({ code: 'task_failed' });
    expect(tracker.awaits(records[1]!.id)).toBe(false);
    complete(records[1]!, 'late');
    tracker.ended(records[1]!);
  });

  it('rejects runs at shutdown, and a run that comes after at once', async () => {
    const tracker = new TaskTracker(Date.now());
    const { batch } = queuedRun(tracker, 2);
    tracker.rejectAll(new Error('shut down'));
    await expect(batch.promise).rejects.toThrow('shut down');
    const late = queuedRun(tracker, 1);
    await expect(late.batch.promise).rejects.toThrow('shut down');
  });

  it('drops a run whose batch settled otherwise, and still serves the runs after it', async () => {
    const tracker = new TaskTracker(Date.now());
    const first = queuedRun(tracker, 2);
    // Rejected by a task it waited for by id (an idempotency key's earlier task, say).
    first.batch.reject(new Error('an earlier task failed'));
    await expect(first.batch.promise).rejects.toThrow('an earlier task failed');
    expect(tracker.awaits(first.records[0]!.id)).toBe(false);
    const second = queuedRun(tracker, 1);
    complete(first.records[0]!, 'ignored');
    tracker.ended(first.records[0]!);
    complete(second.records[0]!, 'second');
    tracker.ended(second.records[0]!);
    await expect(second.batch.promise).resolves.toEqual(['second']);
  });

  it('finds each task’s run among many, registered in any order, with gaps between', async () => {
    const tracker = new TaskTracker(Date.now());
    // 300 runs of 2 tasks, an unawaited id minted between runs, registered in shuffled order.
    const runs = Array.from({ length: 300 }, () => {
      const records = [record(nextTaskId(), 'queued'), record(nextTaskId(), 'queued')];
      nextTaskId();
      const batch = new BatchResult(2);
      records.forEach((r, i) => {
        batch.live(i, r);
        batch.inRun(i);
      });
      return { records, batch };
    });
    const order = runs.map((_, i) => (i * 7919) % runs.length);
    for (const i of order) {
      const { records, batch } = runs[i]!;
      tracker.waitRun(idCounter(records[0]!.id), 2, batch);
    }
    // A gap id is nobody's; the first run fails early (settled), the rest complete.
    const gap = record(nextTaskId(), 'completed', 'x');
    expect(tracker.awaits(gap.id)).toBe(false);
    const failed = runs[0]!.records[1]!;
    failed.status = 'cancelled';
    tracker.ended(failed);
    await expect(runs[0]!.batch.promise).rejects.toMatchObject({ code: 'cancelled' });
    expect(tracker.awaits(runs[0]!.records[0]!.id)).toBe(false);
    for (const { records } of runs.slice(1).reverse()) {
      for (const r of records) {
        complete(r, r.id);
        tracker.ended(r);
      }
    }
    for (const { records, batch } of runs.slice(1)) {
      await expect(batch.promise).resolves.toEqual(records.map((r) => r.id));
    }
  });
});
