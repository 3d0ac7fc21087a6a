// 96 random bits drawn once per process (as three base36 words of 32 bits each, zero-padded
// so the prefix has a fixed length and no two prefixes can overlap with a counter). Ids
// from two processes collide only if their prefixes do: at 2^-96 per pair, never in practice.
const WORD = 7; // 2^32 < 36^7
function randomPrefix(): string {
  const words = crypto.getRandomValues(new Uint32Array(3));
  let prefix = '';
  for (const word of words) prefix += word.toString(36).padStart(WORD, '0');
  return `${prefix}-`;
}

const PREFIX = randomPrefix();
let counter = 0;

/** The length of the random part of a task id (and of every id's constant prefix). */
export const TASK_ID_PREFIX_LENGTH = 3 * WORD + 1;

/**
 * A fresh task id: a random per-process prefix (96 bits, base36) and a counter (base36),
 * e.g. `'0k3j9x1a8bq0z2m5r7t1c4e-1f'`. Unique across processes as a UUID is, but ~5× cheaper
 * to make, since only the prefix is random; ids are not secrets (lease tokens are).
 *
 * @example
 * ```ts
 * const id = nextTaskId() // '<21 base36 chars>-0', then '...-1', ...
 * ```
 */
export function nextTaskId(): string {
  return PREFIX + (counter++).toString(36);
}
