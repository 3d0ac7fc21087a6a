import {
  type BackendFairness,
  checkFairnessKeySettings,
  DEFAULT_FAIRNESS_POLICY,
  type FairnessKeyFigures,
  type FairnessKeySettings,
  type FairnessPolicy,
} from '../../contracts/fairness.js';
import type { FairBook, FairLane, KeyState } from './fair-lane.js';

/**
 * The fairness policy of a memory backend and the state of every key with work or leases:
 * weights, caps, leases in flight, and the key levels parked at a cap. The fair lanes read
 * it at each turn; a lease that ends puts the key's parked levels back into their rings.
 * Keys are kept only while some lane holds them, so a key that drained costs nothing.
 */
export class MemoryFairness implements BackendFairness, FairBook {
  #policy: FairnessPolicy = DEFAULT_FAIRNESS_POLICY;
  #weights = new Map<string, number>();
  #caps = new Map<string, number>();
  #states = new Map<string, KeyState>();
  #lifted = false;
  /** The tasks without a key: one key of their own, never capped. */
  readonly unkeyed: KeyState = {
    key: undefined,
    weight: 1,
    cap: Infinity,
    leased: 0,
    served: 0,
    parked: undefined,
    lanes: 0,
  };

  /**
   * @param lanes the fair lanes there are now, to apply a new policy to.
   * @param unparked told of the capability of a lane that got work back from a parked key.
   */
  constructor(
    private readonly lanes: () => Iterable<FairLane>,
    private readonly unparked: (capability: string) => void,
  ) {}

  get lifted(): boolean {
    return this.#lifted;
  }

  async configure(policy: FairnessPolicy): Promise<void> {
    this.#policy = policy;
    this.#weights = new Map(policy.weights);
    this.#caps = new Map(policy.maxConcurrencyByKey);
    this.unkeyed.weight = policy.defaultWeight;
    for (const state of this.#states.values()) this.#settle(state);
    for (const lane of this.lanes()) {
      lane.capabilityCap = this.capabilityCap(lane.capability);
    }
    for (const state of this.#states.values()) this.#unpark(state);
  }

  async setKey(key: string, settings: FairnessKeySettings): Promise<void> {
    const { weight, maxConcurrency } = checkFairnessKeySettings(key, settings, 'invalid_request');
    if (weight === undefined) this.#weights.delete(key);
    else this.#weights.set(key, weight);
    if (maxConcurrency === undefined) this.#caps.delete(key);
    else this.#caps.set(key, maxConcurrency);
    const state = this.#states.get(key);
    if (state === undefined) return;
    this.#settle(state);
    this.#unpark(state);
  }

  async leased(key: string): Promise<number> {
    return this.#states.get(key)?.leased ?? 0;
  }

  async top(limit: number): Promise<FairnessKeyFigures[]> {
    if (limit < 1) return [];
    // Each lane holds the keys with work in it: a key's queued tasks are summed over them.
    const queued = new Map<KeyState, number>();
    for (const lane of this.lanes()) {
      for (const lk of lane.keys.values()) {
        if (lk.state.key === undefined) continue;
        queued.set(lk.state, (queued.get(lk.state) ?? 0) + lk.queued);
      }
    }
    // The `limit` largest, kept sorted as the keys are read: no sort of every key.
    const top: FairnessKeyFigures[] = [];
    const size = (f: FairnessKeyFigures) => f.queued + f.leased;
    const before = (a: FairnessKeyFigures, b: FairnessKeyFigures) =>
      size(a) > size(b) || (size(a) === size(b) && a.key < b.key);
    for (const state of this.#states.values()) {
      const q = queued.get(state) ?? 0;
      if (q === 0 && state.leased === 0) continue;
      const f = { key: state.key as string, queued: q, leased: state.leased, served: state.served };
      if (top.length === limit && !before(f, top[limit - 1] as FairnessKeyFigures)) continue;
      let i = top.length === limit ? limit - 1 : top.length;
      while (i > 0 && before(f, top[i - 1] as FairnessKeyFigures)) {
        top[i] = top[i - 1] as FairnessKeyFigures;
        i--;
      }
      top[i] = f;
    }
    return top;
  }

  /** The cap of one key's tasks of `capability`; `Infinity` for none. */
  capabilityCap(capability: string): number {
    return this.#policy.maxConcurrencyByCapability.get(capability) ?? Number.POSITIVE_INFINITY;
  }

  state(key: string | undefined): KeyState {
    if (key === undefined) return this.unkeyed;
    let state = this.#states.get(key);
    if (state === undefined) {
      state = { key, weight: 1, cap: Infinity, leased: 0, served: 0, parked: undefined, lanes: 0 };
      this.#settle(state);
      this.#states.set(key, state);
    }
    return state;
  }

  forget(state: KeyState): void {
    if (state.key !== undefined && state.leased === 0) this.#states.delete(state.key);
  }

  /** Counts a lease of a keyed task of `lane` as ended, and puts back what it unparks. */
  released(key: string, lane: FairLane): void {
    const lk = lane.keys.get(key);
    if (lk === undefined) return;
    lane.released(lk);
    if (lk.state.parked !== undefined) this.#unpark(lk.state);
    lane.forgetIfIdle(lk);
  }

  /**
   * Stops enforcing caps until the returned function is called: a durable backend restores
   * the leases it kept through leases of its memory backend, which a cap lowered since must
   * not refuse.
   */
  liftCaps(): () => void {
    this.#lifted = true;
    return () => {
      this.#lifted = false;
    };
  }

  /** Drops every key (the backend is closing). */
  clear(): void {
    this.#states = new Map();
    this.unkeyed.parked = undefined;
    this.unkeyed.lanes = 0;
  }

  #settle(state: KeyState): void {
    const key = state.key as string;
    state.weight = this.#weights.get(key) ?? this.#policy.defaultWeight;
    state.cap = this.#caps.get(key) ?? this.#policy.maxConcurrency ?? Number.POSITIVE_INFINITY;
  }

  /** Puts back into their rings the parked levels of `state` that may lease again. */
  #unpark(state: KeyState): void {
    const parked = state.parked;
    if (parked === undefined) return;
    let kept = 0;
    for (let i = 0; i < parked.length; i++) {
      const kl = parked[i] as (typeof parked)[number];
      const lane = kl.owner.lane;
      if (!lane.eligible(kl.owner)) {
        parked[kept++] = kl;
        continue;
      }
      const hadWork = kl.live > 0;
      lane.unpark(kl);
      if (hadWork) this.unparked(lane.capability);
    }
    if (kept === 0) state.parked = undefined;
    else parked.length = kept;
  }
}
