declare const queueBrand: unique symbol;
declare const limiterBrand: unique symbol;

/** A native queue object (a Node-API external); only the addon's functions can use it. */
export interface QueueRef {
  readonly [queueBrand]: true;
}

/** A native limiter object (a Node-API external); only the addon's functions can use it. */
export interface LimiterRef {
  readonly [limiterBrand]: true;
}

/**
 * The raw functions of the Rust addon (`switchboard-native.<platform>.node`). Slots index
 * the payload array kept in JavaScript; -1 means "none". Every function throws a
 * `TypeError` naming itself and the argument when given a wrong type or size, and never
 * lets a Rust panic through (it becomes an `Error`).
 */
export interface NativeAddon {
  queueCreate(): QueueRef;
  /** Returns the new entry's slot; its handle is `seq * 256 + level` (`seq` counts pushes from 1). */
  queuePush(queue: QueueRef, level: number): number;
  /** Writes each entry's handle and slot; `handlesOut`/`slotsOut` are at least `levels.length` long. */
  queuePushMany(
    queue: QueueRef,
    levels: Uint8Array,
    handlesOut: Float64Array,
    slotsOut: Uint32Array,
  ): void;
  queuePop(queue: QueueRef): number;
  /** Writes up to `min(max, slotsOut.length)` slots in pop order; returns how many. */
  queuePopMany(queue: QueueRef, max: number, slotsOut: Uint32Array): number;
  queuePeek(queue: QueueRef): number;
  /** The removed entry's slot, or -1 when `handle` is not queued. */
  queueRemove(queue: QueueRef, handle: number): number;
  queueSize(queue: QueueRef): number;
  queueSizeAt(queue: QueueRef, level: number): number;
  queueClear(queue: QueueRef): void;
  /** Entries and free slots allocated in Rust: what an emptied queue gives back. */
  queueCapacity(queue: QueueRef): number;
  /** One past the highest slot in use. */
  queueSlotSpan(queue: QueueRef): number;

  limiterCreate(capacity: number, refillPerSec: number, maxKeys: number): LimiterRef;
  /** Tracks a new key (full bucket) and returns its id; `out[0]` is the id it evicted, or -1. */
  limiterAdmit(limiter: LimiterRef, now: number, out: Float64Array): number;
  /** Returns the wait in ms (0 when allowed); `out[0]` is the tokens left, floored. */
  limiterAcquire(
    limiter: LimiterRef,
    id: number,
    cost: number,
    now: number,
    out: Float64Array,
  ): number;
  /** Writes each wait to `out`; returns -1, or the index of the first bad cost (nothing taken). */
  limiterAcquireMany(
    limiter: LimiterRef,
    ids: Uint32Array,
    costs: Float64Array | undefined,
    now: number,
    out: Float64Array,
  ): number;
  limiterRelease(limiter: LimiterRef, id: number): void;
  limiterReset(limiter: LimiterRef): void;
  limiterKeyCount(limiter: LimiterRef): number;
  /** Key ids allocated in Rust: what forgetting every key gives back. */
  limiterCapacity(limiter: LimiterRef): number;
}

/** The names of every function a usable addon must export. */
export const ADDON_FUNCTIONS = [
  'queueCreate',
  'queuePush',
  'queuePushMany',
  'queuePop',
  'queuePopMany',
  'queuePeek',
  'queueRemove',
  'queueSize',
  'queueSizeAt',
  'queueClear',
  'queueCapacity',
  'queueSlotSpan',
  'limiterCreate',
  'limiterAdmit',
  'limiterAcquire',
  'limiterAcquireMany',
  'limiterRelease',
  'limiterReset',
  'limiterKeyCount',
  'limiterCapacity',
] as const satisfies readonly (keyof NativeAddon)[];
