import { PRIORITIES } from '../../model/priority.js';
import type { TaskRecord } from '../../model/task.js';
import { Deque } from '../../structures/deque.js';
import type { LaneItem, LaneItems } from './lane-items.js';

/** One fairness key across the lanes: its settings, its leases, its parked key levels. */
export interface KeyState {
  /** `undefined` for the tasks without a key, which form one key of their own. */
  readonly key: string | undefined;
  weight: number;
  /** Its cap across capabilities; `Infinity` for none. */
  cap: number;
  /** Its tasks leased now, across capabilities. */
  leased: number;
  /** Its leases since it last had work or leases (the rate of `/v1/stats` reads it). */
  served: number;
  /**
   * Key levels taken out of their rings because a cap was reached, to put back later; made
   * when the first is parked, as most keys never reach a cap.
   */
  parked: KeyLevel[] | undefined;
  /** Lanes holding a {@link LaneKey} of it; the state is forgotten at 0. */
  lanes: number;
}

/** What a fair lane asks of the backend's fairness book. */
export interface FairBook {
  /** The state of `key`, made on first use. */
  state(key: string | undefined): KeyState;
  /** Drops a keyed state no lane holds any more. */
  forget(state: KeyState): void;
  /** True while caps are not enforced (a durable backend restoring its leases). */
  readonly lifted: boolean;
}

/** One key in one lane: its key levels and its leases in this capability. */
export interface LaneKey {
  readonly state: KeyState;
  readonly lane: FairLane;
  readonly levels: (KeyLevel | undefined)[];
  /** Its tasks queued in this lane (live entries of its levels). */
  queued: number;
  /** Its tasks of this capability leased now. */
  leased: number;
}

/**
 * One key's tasks of one priority level in one lane: the deque of its entries in arrival
 * order (cancelled ones stay, stale, until they surface), and its place in the round robin.
 * It is the deque itself rather than an object holding one: with many keys every object a
 * lease reads is a cache miss, so a key's level is kept to one.
 */
export class KeyLevel extends Deque<LaneItem> {
  live = 0;
  /** Tasks it may still lease in its current turn. */
  deficit = 0;
  /** Whether its turn has begun (its weight was added to the deficit). */
  inTurn = false;
  inRing = false;
  parked = false;

  constructor(
    readonly owner: LaneKey,
    readonly level: number,
  ) {
    super();
  }
}

// A key level's deque is compacted once stale entries outnumber live ones by this margin.
const COMPACT_SLACK = 32;

/**
 * The queue of one capability once it has seen a task with a fairness key: per priority
 * level, a ring of the keys with work there, served by weighted deficit round robin (M.
 * Shreedhar and G. Varghese, "Efficient fair queueing using deficit round robin", 1995).
 * A key at the head of its ring begins a turn by adding its weight to its deficit, leases
 * one task per unit of deficit, in FIFO order, then goes to the tail; a key that runs out
 * of work or reaches a cap leaves the ring, and comes back at the tail when it gets work
 * or a lease of it ends. Weights are integers and every task costs one, so a turn always
 * leases at least one task or takes a key out of the ring: a lease costs O(1) per task,
 * amortized, however many keys have work. Strict priority across levels holds: a level is
 * served only while no key of a more urgent level may lease.
 */
export class FairLane {
  readonly rings: Deque<KeyLevel>[] = PRIORITIES.map(() => new Deque<KeyLevel>());
  readonly keys = new Map<string | undefined, LaneKey>();
  /** The cap of one key's tasks of this capability; `Infinity` for none. */
  capabilityCap = Number.POSITIVE_INFINITY;
  /** Live entries of parked key levels: queued, but not leasable until a lease ends. */
  parked = 0;

  constructor(
    readonly capability: string,
    private readonly book: FairBook,
    private readonly items: LaneItems,
  ) {}

  /** Queues an entry of `key` at `level`. */
  add(item: LaneItem, key: string | undefined, level: number): void {
    const kl = this.#keyLevel(key, level);
    kl.push(item);
    kl.live++;
    kl.owner.queued++;
    if (kl.parked) this.parked++;
    else if (!kl.inRing) {
      kl.inRing = true;
      (this.rings[level] as Deque<KeyLevel>).push(kl);
    }
  }

  /** Leases up to `want` tasks into `taken`, by strict priority, then fairly among keys. */
  take(want: number, taken: TaskRecord[]): void {
    const items = this.items;
    for (let level = 0; level < this.rings.length && taken.length < want; level++) {
      const ring = this.rings[level] as Deque<KeyLevel>;
      while (taken.length < want && ring.length > 0) {
        const kl = ring.peek() as KeyLevel;
        const lk = kl.owner;
        if (kl.live === 0 || !this.eligible(lk)) {
          ring.shift();
          this.#out(kl);
          continue;
        }
        if (!kl.inTurn) {
          kl.inTurn = true;
          kl.deficit += lk.state.weight;
        }
        const keyed = lk.state.key !== undefined;
        while (kl.deficit > 0 && kl.live > 0 && taken.length < want) {
          const t = items.live(kl.shift() as LaneItem);
          if (t === undefined) continue;
          taken.push(t);
          kl.live--;
          kl.deficit--;
          lk.queued--;
          if (keyed) {
            lk.leased++;
            lk.state.leased++;
            lk.state.served++;
            if (!this.eligible(lk)) break;
          }
        }
        // Stopped by `want` in the middle of its turn: the next lease goes on with it.
        if (kl.deficit > 0 && kl.live > 0 && this.eligible(lk)) return;
        ring.shift();
        kl.inTurn = false;
        if (kl.live > 0 && this.eligible(lk)) ring.push(kl);
        else this.#out(kl);
      }
    }
  }

  /** Takes a queued task out (it is being cancelled; its entry stays behind, stale). */
  remove(t: TaskRecord, level: number): void {
    const kl = this.keys.get(t.fairnessKey)?.levels[level];
    if (kl === undefined) return;
    kl.live--;
    kl.owner.queued--;
    if (kl.parked) this.parked--;
    if (kl.length > 2 * kl.live + COMPACT_SLACK) {
      const items = this.items;
      kl.retain((item) => items.queued(item, t));
    }
  }

  /** Whether a key may lease one more task of this capability now. */
  eligible(lk: LaneKey): boolean {
    const s = lk.state;
    return (
      s.key === undefined ||
      this.book.lifted ||
      (s.leased < s.cap && lk.leased < this.capabilityCap)
    );
  }

  /** Puts a parked key level back: at the tail of its ring when it has work. */
  unpark(kl: KeyLevel): void {
    kl.parked = false;
    this.parked -= kl.live;
    if (kl.live > 0) {
      kl.inRing = true;
      (this.rings[kl.level] as Deque<KeyLevel>).push(kl);
    } else {
      this.forgetIfIdle(kl.owner);
    }
  }

  /** Counts a lease of `key` as ended. */
  released(lk: LaneKey): void {
    lk.leased--;
    lk.state.leased--;
  }

  /** Drops a key that holds nothing here any more: no work, no lease, no place in a ring. */
  forgetIfIdle(lk: LaneKey): void {
    if (lk.queued > 0 || lk.leased > 0) return;
    const levels = lk.levels;
    for (let i = 0; i < levels.length; i++) {
      const kl = levels[i];
      if (kl !== undefined && (kl.inRing || kl.parked)) return;
    }
    this.keys.delete(lk.state.key);
    if (--lk.state.lanes === 0) this.book.forget(lk.state);
  }

  /** Entries held by the key levels, stale ones included. */
  slots(): number {
    let slots = 0;
    for (const lk of this.keys.values()) {
      for (const kl of lk.levels) slots += kl?.length ?? 0;
    }
    return slots;
  }

  /** Takes a key level out of its ring: parked when capped with work left, else idle. */
  #out(kl: KeyLevel): void {
    kl.inRing = false;
    kl.inTurn = false;
    kl.deficit = 0;
    if (kl.live > 0) {
      kl.parked = true;
      this.parked += kl.live;
      const state = kl.owner.state;
      if (state.parked === undefined) state.parked = [kl];
      else state.parked.push(kl);
      return;
    }
    // Only stale entries are left.
    kl.retain(() => false);
    this.forgetIfIdle(kl.owner);
  }

  #keyLevel(key: string | undefined, level: number): KeyLevel {
    let lk = this.keys.get(key);
    if (lk === undefined) {
      const state = this.book.state(key);
      state.lanes++;
      lk = {
        state,
        lane: this,
        levels: [undefined, undefined, undefined, undefined],
        queued: 0,
        leased: 0,
      };
      this.keys.set(key, lk);
    }
    let kl = lk.levels[level];
    if (kl === undefined) {
      kl = new KeyLevel(lk, level);
      lk.levels[level] = kl;
    }
    return kl;
  }
}
