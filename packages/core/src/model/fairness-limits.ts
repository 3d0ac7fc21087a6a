/** The largest weight a fairness key may have (docs/fairness.md). */
export const MAX_FAIRNESS_WEIGHT = 10_000;
