// The prefix is 96 random bits drawn once per process, as three base36 words of 32 bits
// each, zero-padded so that the prefix has a fixed length and no two prefixes can overlap
// with a counter. Ids from two processes collide only if their prefixes do, with odds of
// 2^-96 per pair: never in practice. It is drawn when the first id is made, not when this
// module loads: the Workers runtime refuses random values in a module's global scope.
const WORD = 7; // 2^32 < 36^7
function randomPrefix(): string {
  const words = crypto.getRandomValues(new Uint32Array(3));
  let prefix = '';
  for (const word of words) prefix += word.toString(36).padStart(WORD, '0');
  return `${prefix}-`;
}

// Empty until drawPrefix: no id of this process exists before then.
let PREFIX = '';

/** The length of the random part of a task id (and of every id's constant prefix). */
export const TASK_ID_PREFIX_LENGTH = 3 * WORD + 1;
// Base36 digits of Number.MAX_SAFE_INTEGER: a longer counter cannot be one this process made.
const MAX_DIGITS = 11;

// The counter is kept in base36 as two parts: the digits above the last two, as a string
// made again once every 1,296 ids, and the last two digits, taken from a table. So
// `toString(36)` runs once per 1,296 ids instead of once per id. The two parts are joined by
// `+` and then `toLowerCase()`, which changes nothing in an id (base36 digits are lowercase)
// but hands back a flat string. `head + tail` alone is a two-part cons string, which V8
// flattens into a third object the first time the id is read, and `[head, tail].join('')`,
// flat too, is slower (see bench/RESULTS.md, In-process engine, fifth pass).
const LOW = 36 * 36;
const LOW_DIGITS: readonly string[] = Array.from({ length: LOW }, (_, i) =>
  i.toString(36).padStart(2, '0'),
);
// The next counter, and the head of the id taskIdAt made last (ids are mostly spelled in
// counter order, so the head is made again once per 1,296 ids).
let next = 0;
let headHigh = 0;
let head = PREFIX;

/** Draws this process's prefix, once, before the first id is made. */
function drawPrefix(): void {
  PREFIX = randomPrefix();
  head = PREFIX;
  S0 = PREFIX.charCodeAt(SAMPLE_AT[0]);
  S1 = PREFIX.charCodeAt(SAMPLE_AT[1]);
  S2 = PREFIX.charCodeAt(SAMPLE_AT[2]);
  S3 = PREFIX.charCodeAt(SAMPLE_AT[3]);
}

/**
 * A fresh task id: a random per-process prefix (96 bits, base36) and a counter (base36),
 * e.g. `'0k3j9x1a8bq0z2m5r7t1c4e-1f'`. It is unique across processes as a UUID is, but
 * cheaper to make, since only the prefix is random; ids are not secrets (lease tokens are).
 *
 * @example
 * ```ts
 * const id = nextTaskId() // '<21 base36 chars>-0', then '...-1', ...
 * ```
 */
export function nextTaskId(): string {
  if (PREFIX === '') drawPrefix();
  return taskIdAt(next++);
}

/**
 * Takes the next `n` ids at once and answers the counter of the first: the ids are
 * `taskIdAt(first)` … `taskIdAt(first + n - 1)`, made only when needed (a batch kept as
 * columns has no id string until one is asked for). {@link nextTaskId} goes on after them.
 */
export function reserveTaskIds(n: number): number {
  if (PREFIX === '') drawPrefix();
  const first = next;
  next += n;
  return first;
}

/** The id {@link nextTaskId} makes for the counter `seq` (a reserved one, say). */
export function taskIdAt(seq: number): string {
  if (PREFIX === '') drawPrefix();
  // The first 1,296 ids have no leading zero ('-0' … '-zz').
  if (seq < LOW) return (PREFIX + seq.toString(36)).toLowerCase();
  const high = Math.floor(seq / LOW);
  if (high !== headHigh) {
    headHigh = high;
    head = `${PREFIX}${high.toString(36)}`;
  }
  return (head + (LOW_DIGITS[seq - high * LOW] as string)).toLowerCase();
}

/** Whether `id` is one this process minted or reserved (its whole prefix is compared). */
export function mintedHere(id: string): boolean {
  return PREFIX !== '' && id.length > TASK_ID_PREFIX_LENGTH && id.startsWith(PREFIX);
}

// Four characters of this process's prefix, compared by {@link ownId}; -1, which no
// character is, until the prefix is drawn.
const SAMPLE_AT = [0, 7, 14, 20] as const;
let S0 = -1;
let S1 = -1;
let S2 = -1;
let S3 = -1;

/**
 * The counter of an id spelled as {@link nextTaskId} spells them, whatever its prefix
 * (another process's too), or -1 for any other string. It reads the counter digits only:
 * whether the id is one of this process's is {@link ownId}'s question, and an index that
 * keeps values by counter compares the stored id before answering (see `TaskIndex`), so a
 * foreign id with the same counter is never mistaken for a minted one.
 *
 * @example
 * ```ts
 * idCounter(nextTaskId()) // 0, then 1, ...
 * idCounter('order-42') // -1
 * ```
 */
export function idCounter(id: string): number {
  const n = id.length;
  const p = TASK_ID_PREFIX_LENGTH;
  if (n <= p || id.charCodeAt(p - 1) !== 45) return -1;
  // Up to five digits (36^5 < 2^31) the counter is read in 32-bit integers.
  if (n > p + 5) return n > p + MAX_DIGITS ? -1 : longCounter(id, n);
  let seq = 0;
  for (let i = p; i < n; i++) {
    const c = id.charCodeAt(i);
    const d = c < 128 ? (DIGIT[c] as number) : -1;
    if (d < 0) return -1;
    seq = (seq * 36 + d) | 0;
  }
  return seq;
}

// The value of each base36 digit's char code, -1 for any other character below 128.
const DIGIT = new Int8Array(128).fill(-1);
for (let d = 0; d < 36; d++) DIGIT[d.toString(36).charCodeAt(0)] = d;

/** {@link idCounter} for counters of six digits or more, in doubles. */
function longCounter(id: string, n: number): number {
  let seq = 0;
  for (let i = TASK_ID_PREFIX_LENGTH; i < n; i++) {
    const c = id.charCodeAt(i);
    const d = c < 128 ? (DIGIT[c] as number) : -1;
    if (d < 0) return -1;
    seq = seq * 36 + d;
  }
  return seq <= Number.MAX_SAFE_INTEGER ? seq : -1;
}

/**
 * Whether an id of {@link idCounter}'s shape likely comes from this process: four of its
 * prefix characters match (another prefix passes with odds of 36^-4). It only decides
 * where an index keeps an id: a foreign id taken for one of ours costs an index page,
 * never a wrong answer.
 */
export function ownId(id: string): boolean {
  return (
    id.charCodeAt(SAMPLE_AT[0]) === S0 &&
    id.charCodeAt(SAMPLE_AT[1]) === S1 &&
    id.charCodeAt(SAMPLE_AT[2]) === S2 &&
    id.charCodeAt(SAMPLE_AT[3]) === S3
  );
}
