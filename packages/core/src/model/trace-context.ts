// W3C Trace Context (https://www.w3.org/TR/trace-context/): a task carries the `traceparent`
// and `tracestate` of the span that submitted it, so that every later span of the task, in
// any process and after any restart, joins the same trace. Core only checks and carries the
// two strings; making spans is a `Telemetry`'s job (contracts/telemetry.ts).

/** The longest `tracestate` kept: the spec lets a carrier truncate past 512 characters. */
export const MAX_TRACESTATE_LENGTH = 512;

/** The trace context a task carries: the W3C `traceparent` and, when given, `tracestate`. */
export interface TraceContext {
  readonly traceparent: string;
  readonly tracestate?: string;
}

/** The three fields of a `traceparent`, as a tracer reads them. */
export interface ParsedTraceparent {
  /** 32 lowercase hex digits, not all zero. */
  readonly traceId: string;
  /** 16 lowercase hex digits, not all zero: the span the next spans are children of. */
  readonly spanId: string;
  /** The trace flags (bit 0: sampled). */
  readonly flags: number;
}

const HEADER = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);
// Printable ASCII: list members are `key=value` pairs of such characters, comma-separated.
const TRACESTATE = /^[\x20-\x7e]*$/;

/**
 * The fields of a W3C `traceparent`, or `undefined` when it is not one. Version `00` must
 * be exactly `00-<trace-id>-<parent-id>-<flags>`; a later version may add fields after a
 * dash, which are ignored, as the spec asks; version `ff` and all-zero ids are invalid.
 *
 * @example
 * ```ts
 * parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')
 * // { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', flags: 1 }
 * ```
 */
export function parseTraceparent(value: unknown): ParsedTraceparent | undefined {
  if (typeof value !== 'string' || value.length < 55 || value.length > 512) return undefined;
  const m = HEADER.exec(value);
  if (m === null) return undefined;
  const [, version, traceId, spanId, flags, rest] = m as unknown as [
    string,
    string,
    string,
    string,
    string,
    string | undefined,
  ];
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined;
  return { traceId, spanId, flags: Number.parseInt(flags, 16) };
}

/** True for a valid W3C `traceparent` (see {@link parseTraceparent}). */
export function isTraceparent(value: unknown): value is string {
  return parseTraceparent(value) !== undefined;
}

/** True for a `tracestate` a task may carry: printable ASCII, at most 512 characters. */
export function isTracestate(value: unknown): value is string {
  return (
    typeof value === 'string' && value.length <= MAX_TRACESTATE_LENGTH && TRACESTATE.test(value)
  );
}

/** A version-00 `traceparent` of the given ids, sampled or not. */
export function formatTraceparent(traceId: string, spanId: string, flags: number): string {
  return `00-${traceId}-${spanId}-${(flags & 0xff).toString(16).padStart(2, '0')}`;
}
