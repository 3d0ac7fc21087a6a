import { priorityLevel } from '../messaging/priority.js';
import type { EnqueueResult } from './backend.js';
import { exists, keyedNew, unknownPriority } from './memory-errors.js';
import type { MemoryStore } from './memory-store.js';
import type { TaskRecord } from './task.js';

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
      if (!tasks.add(t.id, t)) throw exists(t, i);
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
      if (!tasks.add(t.id, t)) throw exists(t, i);
    }
  } catch (error) {
    for (let k = 0; k < i; k++) tasks.delete((records[k] as TaskRecord).id);
    throw error;
  }
  store.queueNew(records);
  store.flush();
}
