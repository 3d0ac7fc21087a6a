import process from 'node:process';

/** Where a command prints: one line at a time, to stdout and stderr. */
export interface Output {
  /** Whether `--json` asked for JSON instead of tables. */
  readonly json: boolean;
  line(text: string): void;
  error(text: string): void;
}

/** Output to the process's stdout and stderr. */
export function processOutput(json: boolean): Output {
  return {
    json,
    line: (text) => process.stdout.write(`${text}\n`),
    error: (text) => process.stderr.write(`${text}\n`),
  };
}

/** Prints `value` as one JSON document (two-space indents, for reading as well as for jq). */
export function printJson(out: Output, value: unknown): void {
  out.line(JSON.stringify(value, null, 2));
}

/**
 * Rows under a header, each column padded to its widest cell, two spaces apart; the last
 * column is not padded, so no line ends in spaces. A table without rows prints `empty`.
 */
export function printTable(
  out: Output,
  header: readonly string[],
  rows: readonly (readonly string[])[],
  empty: string,
): void {
  if (rows.length === 0) {
    out.line(empty);
    return;
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const format = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] as number)))
      .join('  ');
  out.line(format(header));
  for (const row of rows) out.line(format(row));
}

/** Label and value lines, the labels padded to the widest (a record, such as one task). */
export function printFields(out: Output, fields: readonly (readonly [string, string])[]): void {
  const width = Math.max(...fields.map(([label]) => label.length));
  for (const [label, value] of fields) out.line(`${`${label}:`.padEnd(width + 1)}  ${value}`);
}

/** How long ago `at` (epoch ms) was, in the largest whole unit: `4s`, `12m`, `3h`, `2d`. */
export function ago(at: number, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - at) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

/** An instant as ISO 8601 UTC, with how long ago it was. */
export function when(at: number, now = Date.now()): string {
  return `${new Date(at).toISOString()} (${ago(at, now)} ago)`;
}

/** A value as one line of JSON, cut at `max` characters (payloads and results in tables). */
export function brief(value: unknown, max = 60): string {
  const text = JSON.stringify(value) ?? 'undefined';
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
