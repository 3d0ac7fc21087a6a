import type { EnqueueResult } from '../../contracts/backend.js';
import { SwitchboardError } from '../../errors.js';
import { PRIORITIES, priorityLevel } from '../../model/priority.js';
import type { TaskRecord } from '../../model/task.js';
import type { TaskColumns } from '../../model/task-columns.js';
import { taskIdAt } from '../../model/task-id.js';
import { exists, keyedNew, unknownPriority } from './memory-errors.js';
import type { MemoryStore } from './memory-store.js';

/**
 * `MemoryBackend.enqueue` on its store: checks and stores each record, all or nothing, then
 * queues the new ones. A known idempotency key answers the first task (`created: false`).
 */
export function storeBatch(store: MemoryStore, records: readonly TaskRecord[]): EnqueueResult[] {
  const { tasks, idempotency } = store;
  // One pass checks and stores each record (so the id's slot is looked up once, while it is
  // in cache); a bad record undoes what this batch stored, leaving nothing behind.
  const results: EnqueueResult[] = new Array(records.length);
  let i = 0;
  let keyed = false;
  try {
    for (; i < records.length; i++) {
      const t = records[i] as TaskRecord;
      if (priorityLevel(t.priority) === undefined) throw unknownPriority(t, i);
      const key = t.idempotencyKey;
      if (key !== undefined) keyed = true;
      const firstId = key === undefined ? undefined : idempotency.get(key);
      if (firstId !== undefined) {
        results[i] = { task: tasks.get(firstId) as TaskRecord, created: false };
        continue;
      }
      if (store.columns.holds(t.id) || !tasks.add(t.id, t)) throw exists(t, i);
      if (key !== undefined) idempotency.set(key, t.id);
      results[i] = { task: t, created: true };
    }
  } catch (error) {
    for (let k = 0; k < i; k++) {
      const r = results[k] as EnqueueResult;
      if (!r.created) continue;
      tasks.delete(r.task.id);
      const key = r.task.idempotencyKey;
      if (key !== undefined) idempotency.delete(key);
    }
    throw error;
  }
  // Without idempotency keys every record was created: the batch itself is queued.
  let created: readonly TaskRecord[] = records;
  if (keyed) {
    const fresh: TaskRecord[] = [];
    for (let k = 0; k < records.length; k++) {
      const r = results[k] as EnqueueResult;
      if (r.created) fresh.push(r.task);
    }
    created = fresh;
  }
  // One pushMany per capability: a native queue is crossed once per batch, not per task.
  store.queueNew(created);
  store.flush();
  return results;
}

/**
 * `MemoryBackend.enqueueNew` on its store: records without idempotency keys, stored and
 * queued all or nothing, with no result per task.
 */
export function storeNewBatch(store: MemoryStore, records: readonly TaskRecord[]): void {
  const { tasks } = store;
  let i = 0;
  try {
    for (; i < records.length; i++) {
      const t = records[i] as TaskRecord;
      if (priorityLevel(t.priority) === undefined) throw unknownPriority(t, i);
      if (t.idempotencyKey !== undefined) throw keyedNew(t, i);
      if (store.columns.holds(t.id) || !tasks.add(t.id, t)) throw exists(t, i);
    }
  } catch (error) {
    for (let k = 0; k < i; k++) tasks.delete((records[k] as TaskRecord).id);
    throw error;
  }
  store.queueNew(records);
  store.flush();
}

/**
 * `MemoryBackend.enqueueColumns` on its store: checks the batch's shape (it comes from
 * Switchboard's intake, but a backend answers any caller with a clear error), then queues
 * it with no record made.
 */
export function storeColumns(store: MemoryStore, columns: TaskColumns): void {
  const { first, capability, payloads, levels, maxAttempts, timeoutMs, now } = columns;
  const n = payloads?.length;
  const bad = (message: string) =>
    new SwitchboardError('invalid_request', `[memory] enqueueColumns: ${message}`);
  if (typeof capability !== 'string' || capability.length === 0) throw bad('no capability');
  if (!Array.isArray(payloads) || n === 0) throw bad('expected at least one task');
  if (!(levels instanceof Uint8Array) || levels.length !== n) {
    throw bad('levels must be a Uint8Array as long as payloads');
  }
  for (let i = 0; i < n; i++) {
    if ((levels[i] as number) >= PRIORITIES.length) throw bad(`unknown priority level at ${i}`);
  }
  if (!Number.isSafeInteger(first) || first < 0 || !Number.isSafeInteger(first + n)) {
    throw bad('first must be a reserved id counter');
  }
  if (!Number.isSafeInteger(maxAttempts) || maxAttempts < 1) throw bad('maxAttempts must be ≥ 1');
  if (!(timeoutMs > 0) || !Number.isFinite(now)) throw bad('timeoutMs and now must be numbers');
  // Reserved counters are fresh: a batch given counters already in use is refused.
  const taken = store.columns.taken(first, n);
  if (taken !== undefined) {
    const id = taskIdAt(taken);
    throw new SwitchboardError('conflict', `[memory] task ${id} already exists`, {
      details: { id },
    });
  }
  store.queueColumns(columns);
  store.flush();
}
