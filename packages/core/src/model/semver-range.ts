import { SwitchboardError } from '../errors.js';

/**
 * A capability version: `major.minor.patch`, parsed from `"2"`, `"2.1"` or `"1.4.0"`
 * (missing parts are 0). Pre-release and build tags are not supported: capability versions
 * are contracts between agents and tasks, and a contract has no pre-release.
 */
export interface Version {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
}

type Op = '>=' | '>' | '<' | '<=';
interface Comparator {
  readonly op: Op;
  readonly v: Version;
}

/**
 * A parsed version range: alternatives (joined by `||`), each a list of comparators that
 * must all hold. An empty list matches every version; `null` matches none (e.g. `<0`).
 * Parse once with {@link parseRange} and test many versions with {@link satisfies}.
 */
export interface VersionRange {
  readonly source: string;
  readonly alternatives: readonly (readonly Comparator[] | null)[];
}

// At most 15 digits a part, so every part is a safe integer.
const NUMERIC = /^(0|[1-9]\d{0,14})$/;
const VERSION = /^(0|[1-9]\d{0,14})(?:\.(0|[1-9]\d{0,14}))?(?:\.(0|[1-9]\d{0,14}))?$/;
const WILDCARD = /^[xX*]$/;
const OPERATOR = /^(\^|~|>=|<=|>|<|=)/;

function bad(what: string, source: string, why: string): SwitchboardError {
  return new SwitchboardError('invalid_request', `invalid version ${what} "${source}": ${why}`, {
    details: { [what]: source },
  });
}

/** Parses up to three dot-separated parts; wildcard parts (and all after them) are `undefined`. */
function parsePartial(text: string, what: string, source: string): (number | undefined)[] {
  const parts = text.split('.');
  if (parts.length > 3) throw bad(what, source, `"${text}" has more than 3 parts`);
  const out: (number | undefined)[] = [];
  let wild = false;
  for (const part of parts) {
    if (WILDCARD.test(part)) {
      wild = true;
      out.push(undefined);
    } else if (NUMERIC.test(part) && !wild) {
      out.push(Number(part));
    } else {
      throw bad(what, source, `"${part}" is not a number nor a wildcard in "${text}"`);
    }
  }
  while (out.length < 3) out.push(undefined);
  return out;
}

/**
 * Parses `"2"`, `"2.1"` or `"1.4.0"` into a {@link Version}.
 *
 * @throws SwitchboardError `invalid_request` when `text` is not such a version.
 * @example
 * ```ts
 * parseVersion('2.1') // { major: 2, minor: 1, patch: 0 }
 * ```
 */
export function parseVersion(text: string): Version {
  if (typeof text !== 'string') throw bad('version', String(text), 'not a string');
  const m = VERSION.exec(text.trim());
  if (m === null)
    throw bad('version', text, 'expected "major", "major.minor" or "major.minor.patch"');
  return { major: Number(m[1]), minor: Number(m[2] ?? 0), patch: Number(m[3] ?? 0) };
}

/** True when {@link parseVersion} accepts `text`. */
export function isValidVersion(text: unknown): text is string {
  if (typeof text !== 'string') return false;
  try {
    parseVersion(text);
    return true;
  } catch {
    // parseVersion only throws for an invalid version, which is the answer asked for.
    return false;
  }
}

/** Compares two versions: negative when `a < b`, 0 when equal, positive when `a > b`. */
export function compareVersions(a: string | Version, b: string | Version): number {
  const x = typeof a === 'string' ? parseVersion(a) : a;
  const y = typeof b === 'string' ? parseVersion(b) : b;
  return Math.sign(x.major - y.major || x.minor - y.minor || x.patch - y.patch);
}

const v = (major: number, minor = 0, patch = 0): Version => ({ major, minor, patch });

/** Desugars one `op` + partial version into primitive comparators (npm semantics). */
function desugar(op: string, p: (number | undefined)[]): Comparator[] | null {
  const [major, minor, patch] = p;
  if (major === undefined) return op === '>' || op === '<' ? null : [];
  const lo = v(major, minor ?? 0, patch ?? 0);
  // The exclusive upper bound of a partial: "1.2" covers [1.2.0, 1.3.0).
  const next =
    minor === undefined ? v(major + 1) : patch === undefined ? v(major, minor + 1) : null;
  switch (op) {
    case '^': {
      // Caret allows changes that keep the left-most non-zero part (^0.2.3 → <0.3.0).
      const up =
        major > 0 || minor === undefined
          ? v(major + 1)
          : minor > 0 || patch === undefined
            ? v(0, minor + 1)
            : v(0, 0, patch + 1);
      return [
        { op: '>=', v: lo },
        { op: '<', v: up },
      ];
    }
    case '~':
      return [
        { op: '>=', v: lo },
        { op: '<', v: minor === undefined ? v(major + 1) : v(major, minor + 1) },
      ];
    case '>=':
      return [{ op: '>=', v: lo }];
    case '<':
      return [{ op: '<', v: lo }];
    case '>':
      return [next ? { op: '>=', v: next } : { op: '>', v: lo }];
    case '<=':
      return [next ? { op: '<', v: next } : { op: '<=', v: lo }];
    default:
      // '=' or no operator: a partial means "any version it covers".
      return next
        ? [
            { op: '>=', v: lo },
            { op: '<', v: next },
          ]
        : [
            { op: '>=', v: lo },
            { op: '<=', v: lo },
          ];
  }
}

/** Splits one alternative into `op+version` tokens, allowing a space after an operator. */
function tokens(alternative: string): string[] {
  const raw = alternative.trim().split(/\s+/);
  const out: string[] = [];
  for (let i = 0; i < raw.length; i++) {
    const token = raw[i] as string;
    const op = OPERATOR.exec(token)?.[0];
    if (op !== undefined && op === token && i + 1 < raw.length) {
      out.push(token + raw[++i]);
    } else {
      out.push(token);
    }
  }
  return out;
}

/**
 * Parses a range: `*`, `2`, `2.x`, `^1.2.0`, `~1.2`, `>=1.0.0 <2`, `>1`, `<=3.1`, `=1.2.3`,
 * and `||` between alternatives. Partial versions and `x`/`*` wildcards follow npm's rules.
 *
 * @throws SwitchboardError `invalid_request` naming the range and what is wrong.
 */
export function parseRange(range: string): VersionRange {
  if (typeof range !== 'string') throw bad('range', String(range), 'not a string');
  const alternatives = range.split('||').map((alternative) => {
    if (alternative.trim() === '') throw bad('range', range, 'empty alternative');
    let set: Comparator[] | null = [];
    for (const token of tokens(alternative)) {
      const op = OPERATOR.exec(token)?.[0] ?? '';
      const rest = token.slice(op.length);
      if (rest === '') throw bad('range', range, `operator "${op}" without a version`);
      const comparators = desugar(op, parsePartial(rest, 'range', range));
      set = comparators === null || set === null ? null : set.concat(comparators);
    }
    return set;
  });
  return { source: range, alternatives };
}

function holds(c: Comparator, version: Version): boolean {
  const cmp = compareVersions(version, c.v);
  switch (c.op) {
    case '>=':
      return cmp >= 0;
    case '>':
      return cmp > 0;
    case '<':
      return cmp < 0;
    default:
      return cmp <= 0;
  }
}

/**
 * True when `version` is in `range`.
 *
 * @throws SwitchboardError `invalid_request` when the version or the range is invalid.
 * @example
 * ```ts
 * satisfies('1.4.0', '^1.2.0')      // true
 * satisfies('2', '>=1.0.0 <2 || 3') // false
 * ```
 */
export function satisfies(version: string | Version, range: string | VersionRange): boolean {
  const parsed = typeof version === 'string' ? parseVersion(version) : version;
  const { alternatives } = typeof range === 'string' ? parseRange(range) : range;
  return alternatives.some((set) => set?.every((c) => holds(c, parsed)) === true);
}
