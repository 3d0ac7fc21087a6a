import { it, type TestFunction } from 'vitest';

/**
 * Cases of a suite that an implementation does not run, and why: what it legitimately does
 * instead. `tests` are the cases' names as the suite declares them; a name the suite does
 * not have fails at once, so a skip cannot outlive its case.
 *
 * @example
 * ```ts
 * testSerializer('json', () => jsonSerializer, {
 *   skip: [
 *     { reason: 'JSON has no negative zero: it writes -0 as 0', tests: ['reads -0 back as -0'] },
 *     { reason: 'JSON.parse keeps a __proto__ key', tests: ['refuses a __proto__ key with decode_error'] },
 *   ],
 * })
 * ```
 */
export interface SkipCases<Case extends string = string> {
  readonly reason: string;
  readonly tests: readonly Case[];
}

/**
 * The `it` of a suite whose cases are named in `cases`: it declares a case as vitest's `it`
 * does, or as skipped, with the reason in its name, when `skip` lists it.
 *
 * @throws Error when `skip` names a case that `cases` does not hold, or gives no reason.
 */
export function suiteCases<Case extends string>(
  suite: string,
  cases: readonly Case[],
  skip: readonly SkipCases<Case>[] = [],
): (name: Case, fn: TestFunction, timeout?: number) => void {
  const reasons = new Map<string, string>();
  for (const { reason, tests } of skip) {
    if (typeof reason !== 'string' || reason.trim() === '') {
      throw new Error(`[switchboard] [testing] ${suite}: a skip needs a reason`);
    }
    for (const name of tests) {
      if (!cases.includes(name)) {
        throw new Error(
          `[switchboard] [testing] ${suite} has no case named "${name}" to skip; its cases are: ${cases.join('; ')}`,
        );
      }
      reasons.set(name, reason);
    }
  }
  return (name, fn, timeout) => {
    const reason = reasons.get(name);
    if (reason === undefined) it(name, fn, timeout);
    else it.skip(`${name} (skipped: ${reason})`, fn, timeout);
  };
}
