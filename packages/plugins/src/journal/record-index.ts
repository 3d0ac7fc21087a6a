import type { AgentRecord, TaskRecord } from '@switchboard/core';

/**
 * Every task record the journal knows, in the order each last became queued or terminal:
 * the order a snapshot writes them in, so that a restore rebuilds FIFO queues, dead-letter
 * order and retention order. Idempotency keys are tracked so that a record whose key or id
 * is taken over by a new one (possible only once the memory backend evicted it) is dropped.
 */
export class RecordIndex {
  readonly records = new Map<string, TaskRecord>();
  /** The remote agents registered, by id (the journal's agent directory). */
  readonly agents = new Map<string, AgentRecord>();
  private readonly keys = new Map<string, string>();

  get size(): number {
    return this.records.size;
  }

  get(id: string): TaskRecord | undefined {
    return this.records.get(id);
  }

  /** Adds a new record at the end. */
  add(t: TaskRecord): void {
    const old = this.records.get(t.id);
    if (old !== undefined) this.remove(old);
    const key = t.idempotencyKey;
    if (key !== undefined) {
      const holder = this.keys.get(key);
      const held = holder === undefined ? undefined : this.records.get(holder);
      if (held !== undefined) this.remove(held);
      this.keys.set(key, t.id);
    }
    this.records.set(t.id, t);
  }

  /** Moves a record to the end: it just became queued or terminal. */
  touch(t: TaskRecord): void {
    this.records.delete(t.id);
    this.records.set(t.id, t);
  }

  /** Drops a record and its idempotency key. */
  remove(t: TaskRecord): void {
    if (this.records.get(t.id) === t) this.records.delete(t.id);
    const key = t.idempotencyKey;
    if (key !== undefined && this.keys.get(key) === t.id) this.keys.delete(key);
  }
}
