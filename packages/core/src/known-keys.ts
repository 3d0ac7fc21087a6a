import { SwitchboardError } from './errors.js';

/**
 * The known key a mistyped `key` most likely meant: one that differs only in case, or by at
 * most one edit (a letter added, dropped, changed, or two neighbours swapped) for every
 * three letters. `undefined` when none is that close.
 *
 * @example
 * ```ts
 * didYouMean('loadBalancr', ['backend', 'loadBalancer']) // 'loadBalancer'
 * didYouMean('perIP', ['perIp', 'perToken']) // 'perIp'
 * ```
 */
export function didYouMean(key: string, known: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  const sameCase = known.find((k) => k.toLowerCase() === lower);
  if (sameCase !== undefined) return sameCase;
  const allowed = Math.max(1, Math.floor(key.length / 3));
  let best: string | undefined;
  let bestDistance = allowed + 1;
  for (const candidate of known) {
    const d = editDistance(lower, candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** Edits between two strings, a swap of two neighbours counting as one (optimal string alignment). */
function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array(rows * cols).fill(0);
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(
        (d[(i - 1) * cols + j] as number) + 1,
        (d[i * cols + j - 1] as number) + 1,
        (d[(i - 1) * cols + j - 1] as number) + cost,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        v = Math.min(v, (d[(i - 2) * cols + j - 2] as number) + 1);
      }
      d[i * cols + j] = v;
    }
  }
  return d[rows * cols - 1] as number;
}

/**
 * Refuses a configuration object that has a key outside `known`, so that a typo fails at
 * start instead of being silently ignored. The error names the key with its `path` (e.g.
 * `rateLimits.perIP`), the closest known key when one is close, and every known key.
 *
 * @param path where `value` sits, `''` at the top level.
 * @param noun what a key is called in the message (`option`, `config key`).
 * @throws SwitchboardError `invalid_config` with `details: { key, known, suggestion? }` (`key` with its path).
 * @example
 * ```ts
 * checkKnownKeys({ prot: 80 }, ['port', 'host'], '', 'config key')
 * // throws: unknown config key "prot" (did you mean "port"?); known: port, host
 * ```
 */
export function checkKnownKeys(
  value: object,
  known: readonly string[],
  path = '',
  noun = 'option',
): void {
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    const where = path === '' ? key : `${path}.${key}`;
    const suggestion = didYouMean(key, known);
    const hint = suggestion === undefined ? '' : ` (did you mean "${suggestion}"?)`;
    throw new SwitchboardError(
      'invalid_config',
      `unknown ${noun} "${where}"${hint}; known: ${known.join(', ')}`,
      {
        details:
          suggestion === undefined
            ? { key: where, known: [...known] }
            : { key: where, known: [...known], suggestion },
      },
    );
  }
}
