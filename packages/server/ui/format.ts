/** A duration for a table cell: `850 ms`, `12.4 s`, `3 min`. */
export function duration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '–';
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

/** A wall-clock time, with milliseconds: events come close together. */
export function clock(at: number | undefined): string {
  if (at === undefined) return '–';
  const d = new Date(at);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** A rate or a count, short. */
export function num(n: number | undefined, digits = 1): string {
  if (n === undefined || !Number.isFinite(n)) return '–';
  if (Number.isInteger(n)) return n.toLocaleString('en');
  return n.toFixed(digits);
}

/** The 0..1 share as a percentage, or a dash when there is nothing to divide. */
export function percent(part: number, whole: number): string {
  return whole === 0 ? '–' : `${((100 * part) / whole).toFixed(1)}%`;
}

/** The value at quantile `q` of `values` (unsorted), or undefined when empty. */
export function quantile(values: readonly number[], q: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** A JSON value for a `<pre>`. */
export function pretty(value: unknown): string {
  return value === undefined ? '–' : JSON.stringify(value, null, 2);
}

/** Whether `topic` matches the pattern list of docs/http.md: `*` one segment, `**` any number. */
export function matchesTopics(topic: string, patterns: readonly string[]): boolean {
  if (patterns.length === 0) return true;
  const parts = topic.split('.');
  const match = (p: string[], i: number, j: number): boolean => {
    if (i === p.length) return j === parts.length;
    if (p[i] === '**') {
      for (let k = j; k <= parts.length; k++) if (match(p, i + 1, k)) return true;
      return false;
    }
    if (j === parts.length) return false;
    return (p[i] === '*' || p[i] === parts[j]) && match(p, i + 1, j + 1);
  };
  return patterns.some((pattern) => match(pattern.split('.'), 0, 0));
}
