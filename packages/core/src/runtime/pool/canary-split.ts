import type { PoolMember, SlotGate } from './pool-member.js';

/** A canary's figures, as a rolling update reports them. */
export interface CanaryProgress {
  /** The share of the definition's tasks meant for the new version. */
  readonly share: number;
  /** Tasks started on the new version (`canary`) and on the others (`stable`). */
  readonly tasks: { readonly canary: number; readonly stable: number };
  /** Outcomes of the canary's tasks (a crash of a canary agent counts as a failure). */
  readonly completed: number;
  readonly failed: number;
  /** `failed / (completed + failed)`, 0 before any outcome. */
  readonly errorRate: number;
}

/**
 * The traffic split of a canary: a gate on the definition's members that, pick by pick,
 * opens either the canary agents or the stable ones, so that the canary starts `share` of
 * the tasks (a deficit count: the canary's turn while it is behind its share). When the
 * group whose turn it is has no live agent, the other group works rather than nothing.
 *
 * Slots closed by the gate read as busy, so every load balancer honours the split and the
 * dispatcher leases no more than the open group can take.
 */
export class CanarySplit implements SlotGate {
  readonly share: number;
  readonly #canaryIds = new Set<string>();
  readonly #members = new Map<string, PoolMember>();
  #canary = 0;
  #stable = 0;
  #completed = 0;
  #failed = 0;

  constructor(share: number) {
    this.share = share;
  }

  /** Puts a member of the definition under the split. */
  adopt(member: PoolMember, canary: boolean): void {
    this.#members.set(member.id, member);
    if (canary) this.#canaryIds.add(member.id);
    member.gate = this;
  }

  /** Lifts the split from every member. */
  release(): void {
    for (const member of this.#members.values()) if (member.gate === this) member.gate = undefined;
    this.#members.clear();
  }

  /** Whether the agent of `id` is a canary agent. */
  isCanary(id: string): boolean {
    return this.#canaryIds.has(id);
  }

  /** Whether the agent of `id` is under the split. */
  covers(id: string): boolean {
    return this.#members.has(id);
  }

  admits(member: PoolMember): boolean {
    const turn = this.#canary < this.share * (this.#canary + this.#stable + 1);
    if (this.#canaryIds.has(member.id) === turn) return true;
    for (const m of this.#members.values()) {
      if (m.live && this.#canaryIds.has(m.id) === turn) return false;
    }
    return true;
  }

  /** A task started on a member under the split. */
  started(id: string): void {
    if (this.#canaryIds.has(id)) this.#canary++;
    else this.#stable++;
  }

  /** An outcome of a canary task; returns the error rate so far and the outcomes counted. */
  outcome(ok: boolean): { rate: number; samples: number } {
    if (ok) this.#completed++;
    else this.#failed++;
    const samples = this.#completed + this.#failed;
    return { rate: this.#failed / samples, samples };
  }

  progress(): CanaryProgress {
    const samples = this.#completed + this.#failed;
    return {
      share: this.share,
      tasks: { canary: this.#canary, stable: this.#stable },
      completed: this.#completed,
      failed: this.#failed,
      errorRate: samples === 0 ? 0 : this.#failed / samples,
    };
  }
}
