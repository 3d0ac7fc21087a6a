import { SwitchboardError } from '../errors.js';

/** Tests whether a validated topic matches one compiled subscription pattern. */
export interface TopicMatcher {
  /** The pattern as written. */
  readonly pattern: string;
  /** True when the pattern has no wildcard, so it matches only the topic equal to it. */
  readonly exact: boolean;
  matches(topic: string): boolean;
}

function invalid(kind: 'topic' | 'pattern', value: unknown, why: string): SwitchboardError {
  return new SwitchboardError('invalid_request', `${kind} ${JSON.stringify(value)}: ${why}`, {
    details: { [kind]: value },
  });
}

function segmentsOf(kind: 'topic' | 'pattern', value: unknown): string[] {
  if (typeof value !== 'string' || value.length === 0) {
    throw invalid(kind, value, 'must be a non-empty string');
  }
  const segments = value.split('.');
  if (segments.includes('')) throw invalid(kind, value, 'has an empty segment');
  return segments;
}

/**
 * Checks a concrete topic: non-empty dot-separated segments, none empty, no wildcard.
 * Throws a `SwitchboardError` `invalid_request` otherwise.
 */
export function assertTopic(topic: unknown): asserts topic is string {
  for (const segment of segmentsOf('topic', topic)) {
    if (segment.includes('*')) throw invalid('topic', topic, 'wildcards belong in patterns only');
  }
}

const escapeRegExp = (text: string) => text.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');

/**
 * Compiles a subscription pattern once: `*` matches exactly one segment, `**` any number of
 * segments including none (`agent.**.failed` matches `agent.failed` and `agent.a.b.failed`).
 * Throws a `SwitchboardError` `invalid_request` for an empty segment or a partial wildcard
 * such as `task*`.
 *
 * @example
 * ```ts
 * compilePattern('task.*').matches('task.completed') // true
 * compilePattern('task.*').matches('task.a.b') // false
 * ```
 */
export function compilePattern(pattern: string): TopicMatcher {
  const segments = segmentsOf('pattern', pattern);
  let exact = true;
  // Each segment is matched with the dot before it, against '.' + topic: that makes `**`
  // ("zero or more dotted segments") a plain `(?:\.[^.]+)*` with no separator special cases.
  let source = '^';
  for (const segment of segments) {
    if (segment === '*') source += '\\.[^.]+';
    else if (segment === '**') source += '(?:\\.[^.]+)*';
    else if (segment.includes('*')) {
      throw invalid('pattern', pattern, `segment "${segment}" mixes text and wildcard`);
    } else {
      source += '\\.' + escapeRegExp(segment);
      continue;
    }
    exact = false;
  }
  if (exact) return { pattern, exact, matches: (topic) => topic === pattern };
  const regexp = new RegExp(source + '$');
  return { pattern, exact, matches: (topic) => regexp.test('.' + topic) };
}
