import { expect } from 'vitest';

/** The key the tasks without a fairness key are served under, in a {@link FairLog}. */
export const NO_KEY = '(none)';

/** One lease of one task, as a fair-share check sees it. */
export interface Dispatch {
  /** The task's fairness key, or {@link NO_KEY}. */
  readonly key: string;
  /**
   * The keys that, just before this lease, had a task ready at its level and capability and
   * were under their caps, each with the id of its run of such moments: a key's run ends
   * whenever it is seen without ready work or at a cap, and whenever a weight changes.
   */
  readonly ready: ReadonlyMap<string, string>;
  /** The weights of the keys at this lease (a key left out has `defaultWeight`). */
  readonly weights: ReadonlyMap<string, number>;
  readonly defaultWeight: number;
}

/**
 * The guarantee of weighted deficit round robin, as docs/fairness.md states it: over any
 * run of consecutive leases at one priority level of one capability, a key `i` that had a
 * task ready and was under its caps throughout got no less than any other key `j`, in
 * quanta: `served(j) / weight(j) ≤ served(i) / weight(i) + 1`. It follows that `i` got at
 * least `N · weight(i) / W − weight(i)` of the `N` leases, `W` being the sum of the weights
 * of the keys served in the run and of `i`.
 *
 * Checks every run of `log` (the leases of one level of one capability, in order) and fails
 * with the first run that breaks it.
 */
export function expectFairShares(log: readonly Dispatch[]): void {
  const keys = [...new Set(log.flatMap((d) => [d.key, ...d.ready.keys()]))];
  for (let s = 0; s < log.length; s++) {
    // A run of `i` spans no change of weight, so the weights at its start hold throughout.
    const first = log[s] as Dispatch;
    const weightOf = (key: string) => first.weights.get(key) ?? first.defaultWeight;
    const served = new Map<string, number>();
    for (let e = s; e < log.length; e++) {
      const d = log[e] as Dispatch;
      served.set(d.key, (served.get(d.key) ?? 0) + 1);
      for (const i of keys) {
        const run = first.ready.get(i);
        if (run === undefined || d.ready.get(i) !== run) continue;
        const own = (served.get(i) ?? 0) / weightOf(i);
        for (const [j, n] of served) {
          if (j === i || n / weightOf(j) <= own + 1) continue;
          const window = log.slice(s, e + 1).map((x) => x.key);
          expect.fail(
            `key ${j} got ${n} leases (weight ${weightOf(j)}) while ${i}, ready throughout, got ` +
              `${served.get(i) ?? 0} (weight ${weightOf(i)}), in the leases ${s}..${e}: ${window.join(' ')}`,
          );
        }
      }
    }
  }
}
