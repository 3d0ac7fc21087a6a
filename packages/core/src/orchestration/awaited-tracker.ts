import type { TaskRecord } from '../backend/task.js';
import { isTerminal, TaskTracker, type Waiter } from './task-tracker.js';

/**
 * A {@link TaskTracker} that also knows which task ids someone here awaits, so that a task
 * ended by another process (a cluster notice carries only its id) costs a read of the record
 * only when this process has a waiter for it.
 */
export class AwaitedTracker extends TaskTracker {
  readonly #awaited = new Map<string, Set<Waiter>>();

  override wait(id: string, waiter: Waiter): void {
    super.wait(id, waiter);
    let waiters = this.#awaited.get(id);
    if (waiters === undefined) {
      waiters = new Set();
      this.#awaited.set(id, waiters);
    }
    waiters.add(waiter);
  }

  override unwait(id: string, waiter: Waiter): void {
    super.unwait(id, waiter);
    const waiters = this.#awaited.get(id);
    if (waiters === undefined) return;
    waiters.delete(waiter);
    if (waiters.size === 0) this.#awaited.delete(id);
  }

  override ended(record: TaskRecord): void {
    super.ended(record);
    if (this.#awaited.size > 0 && isTerminal(record.status)) this.#awaited.delete(record.id);
  }

  override rejectAll(error: Error): void {
    super.rejectAll(error);
    this.#awaited.clear();
  }

  /** True when someone here awaits the task of `id`. */
  awaits(id: string): boolean {
    return this.#awaited.has(id);
  }
}
