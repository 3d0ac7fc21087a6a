import type { AgentRecord, ScheduleRecord, TaskRecord } from '@switchboard/core';

/**
 * A lease that is not the process's own: taken without a process-only token (a remote agent
 * could get it), and, once handed off, the remote agent that holds it. Valid while its task
 * is leased under `token`; stale entries are dropped at each snapshot.
 */
export interface HeldLease {
  token: string;
  agentId?: string;
}

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
  /** The schedules, by id (the journal's schedule store). */
  readonly schedules = new Map<string, ScheduleRecord>();
  /** Leases that are not the process's own, by task id (see {@link HeldLease}). */
  readonly held = new Map<string, HeldLease>();
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

  /** The live lease of `held` that `id` is under, if it is still leased under it. */
  heldLease(id: string): HeldLease | undefined {
    const held = this.held.get(id);
    const t = this.records.get(id);
    return held !== undefined && t?.status === 'leased' && t.leaseToken === held.token
      ? held
      : undefined;
  }

  /**
   * Records that the live leases among `leases` are held by the remote agent `agentId`
   * (stale tokens are skipped); returns the ids and tokens it recorded.
   */
  handOff(
    leases: readonly { id: string; leaseToken: string }[],
    agentId: string,
  ): { ids: string[]; tokens: string[] } {
    const ids: string[] = [];
    const tokens: string[] = [];
    for (const { id, leaseToken } of leases) {
      const t = this.records.get(id);
      if (t?.status !== 'leased' || t.leaseToken !== leaseToken) continue;
      t.agentId = agentId;
      this.held.set(id, { token: leaseToken, agentId });
      ids.push(id);
      tokens.push(leaseToken);
    }
    return { ids, tokens };
  }

  /** The records of the live leases handed off to `agentId`. */
  heldBy(agentId: string): TaskRecord[] {
    const out: TaskRecord[] = [];
    for (const [id, held] of this.held) {
      if (held.agentId === agentId && this.heldLease(id) === held) {
        out.push(this.records.get(id) as TaskRecord);
      }
    }
    return out;
  }

  /** Drops the entries of {@link held} whose lease ended. */
  pruneHeld(): void {
    for (const id of [...this.held.keys()])
      if (this.heldLease(id) === undefined) this.held.delete(id);
  }

  /** Drops a record and its idempotency key. */
  remove(t: TaskRecord): void {
    if (this.records.get(t.id) === t) this.records.delete(t.id);
    const key = t.idempotencyKey;
    if (key !== undefined && this.keys.get(key) === t.id) this.keys.delete(key);
  }
}
