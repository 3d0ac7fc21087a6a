import type { TaskRecord } from '../../model/task.js';
import { taskIdAt } from '../../model/task-id.js';
import {
  checkTaskListQuery,
  encodeTaskCursor,
  listedAfter,
  type TaskListQuery,
  type TaskPage,
} from '../../model/task-list.js';
import type { MemoryStore } from './memory-store.js';

/** A task a listing may answer: a record, or the id counter of a task held as columns. */
interface Entry {
  at: number;
  id: string;
  item: TaskRecord | number;
}

/** Whether `a` is listed before `b` (newer, or as new with a greater id). */
function newer(a: Entry, b: Entry): boolean {
  return a.at > b.at || (a.at === b.at && a.id > b.id);
}

/**
 * The `size` newest entries offered, in a min-heap whose root is the oldest kept: an offer
 * costs O(log size), and memory stays at `size` entries however many are offered.
 */
class Newest {
  readonly #heap: Entry[] = [];
  constructor(private readonly size: number) {}

  /** Whether a task created at `at` could still be kept (to skip a whole batch). */
  mayTake(at: number): boolean {
    const root = this.#heap[0];
    return this.#heap.length < this.size || root === undefined || at >= root.at;
  }

  /** Keeps `entry` when it is among the newest offered so far; answers whether it was kept. */
  offer(entry: Entry): boolean {
    const heap = this.#heap;
    if (heap.length < this.size) {
      heap.push(entry);
      let i = heap.length - 1;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!newer(heap[parent] as Entry, entry)) break;
        heap[i] = heap[parent] as Entry;
        i = parent;
      }
      heap[i] = entry;
      return true;
    }
    if (!newer(entry, heap[0] as Entry)) return false;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child =
        right < heap.length && newer(heap[left] as Entry, heap[right] as Entry) ? right : left;
      if (!newer(entry, heap[child] as Entry)) break;
      heap[i] = heap[child] as Entry;
      i = child;
    }
    heap[i] = entry;
    return true;
  }

  /** The entries kept, newest first. */
  sorted(): Entry[] {
    return this.#heap.sort((a, b) => (newer(a, b) ? -1 : newer(b, a) ? 1 : 0));
  }
}

/**
 * `MemoryBackend.listTasks` on its store. An `idempotencyKey` is one map lookup. Otherwise
 * every stored task is looked at once (O(n log limit) time for n stored tasks, the retained
 * terminal ones included), and only the `limit + 1` newest that match are kept, so memory
 * stays at a page whatever n is. Tasks held as columns are read from their batches without
 * a record being made, but for the ones the page answers; a batch too old for the page is
 * skipped whole, and one that reaches it is read only as far as the page takes from it.
 */
export function listStored(store: MemoryStore, query: TaskListQuery): TaskPage {
  const after = checkTaskListQuery(query, '[memory] ');
  const { status, capability, idempotencyKey, limit } = query;
  const fits = (t: TaskRecord) =>
    (status === undefined || t.status === status) &&
    (capability === undefined || t.capability === capability) &&
    (after === undefined || listedAfter(t.createdAt, t.id, after));
  if (idempotencyKey !== undefined) {
    const id = store.idempotency.get(idempotencyKey);
    const t = id === undefined ? undefined : store.tasks.get(id);
    return { tasks: t !== undefined && fits(t) ? [t] : [] };
  }
  // One more than a page: when it is found, another page follows.
  const top = new Newest(limit + 1);
  for (const t of store.tasks.values()) {
    if (fits(t)) top.offer({ at: t.createdAt, id: t.id, item: t });
  }
  if (status === undefined || status === 'queued') {
    for (const { columns, made } of store.columns.heldBatches()) {
      const at = columns.now;
      if (capability !== undefined && columns.capability !== capability) continue;
      if ((after !== undefined && at > after.createdAt) || !top.mayTake(at)) continue;
      // A batch's tasks share their instant, so ids alone order them, and among ids of one
      // length a later counter is a greater id. So each run of counters with as many digits
      // is read from its end, and the first task refused ends the run (the rest are older
      // still): a large batch costs about a page, not its size.
      for (let end = columns.first + made.length - 1; end >= columns.first; ) {
        const digits = end.toString(36).length;
        const start = Math.max(columns.first, digits === 1 ? 0 : 36 ** (digits - 1));
        for (let seq = end; seq >= start; seq--) {
          if (made[seq - columns.first] !== 0) continue;
          const id = taskIdAt(seq);
          if (after !== undefined && !listedAfter(at, id, after)) continue;
          if (!top.offer({ at, id, item: seq })) break;
        }
        end = start - 1;
      }
    }
  }
  const picked = top.sorted();
  const more = picked.length > limit;
  if (more) picked.length = limit;
  const tasks = picked.map((e) =>
    typeof e.item === 'number' ? (store.columns.record(e.id) as TaskRecord) : e.item,
  );
  const last = picked[picked.length - 1];
  if (!more || last === undefined) return { tasks };
  return { tasks, nextCursor: encodeTaskCursor({ createdAt: last.at, id: last.id }) };
}
