import { SwitchboardError, type TaskRecord } from '@switchboard/core';

// A record is one Redis hash: scalars as fields the scripts read and write in place, and the
// open-ended values as JSON strings only the client touches, so Lua never re-encodes a
// payload (cjson would turn `[]` into `{}` and round numbers to 14 digits).
const NUMBERS = [
  'attempts',
  'maxAttempts',
  'timeoutMs',
  'availableAt',
  'leaseExpiresAt',
  'createdAt',
  'updatedAt',
] as const;
const STRINGS = [
  'id',
  'capability',
  'priority',
  'status',
  'idempotencyKey',
  'sessionKey',
  'submitter',
  'agentId',
  'leaseToken',
] as const;
const JSONS = ['payload', 'metadata', 'result', 'error'] as const;

/**
 * Every field of a record hash, in the order the scripts read them (`HMGET`): a reply is the
 * values alone, half the strings an `HGETALL` would answer. `id` comes first: the scripts
 * test it for "no such task".
 */
export const RECORD_FIELDS: readonly string[] = [...STRINGS, ...NUMBERS, ...JSONS];
const KINDS = [
  ...STRINGS.map(() => 's' as const),
  ...NUMBERS.map(() => 'n' as const),
  ...JSONS.map(() => 'j' as const),
];

/** JSON text of a value, or `undefined` for `undefined`; `invalid_request` when it has none. */
export function toJson(value: unknown, what: string): string | undefined {
  try {
    return JSON.stringify(value);
  } catch (cause) {
    // Cycles and BigInt land here; functions and symbols quietly become undefined instead.
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new SwitchboardError('invalid_request', `[redis] ${what} is not JSON: ${reason}`, {
      cause,
    });
  }
}

/** The hash fields of a record, as alternating names and values (absent fields left out). */
export function encodeRecord(t: TaskRecord): string[] {
  const out: string[] = [];
  const r = t as unknown as Record<string, unknown>;
  for (const k of NUMBERS) {
    const v = r[k];
    if (v !== undefined) out.push(k, String(v));
  }
  for (const k of STRINGS) {
    const v = r[k];
    if (v !== undefined) out.push(k, String(v));
  }
  for (const k of JSONS) {
    const v = toJson(r[k], `task ${t.id} ${k}`);
    if (v !== undefined) out.push(k, v);
  }
  return out;
}

/** A record from the values of {@link RECORD_FIELDS}; `undefined` when it has no id. */
export function decodeRecord(values: readonly (string | null)[]): TaskRecord | undefined {
  if (values[0] === null || values[0] === undefined) return undefined;
  const r: Record<string, unknown> = {};
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) continue;
    const k = RECORD_FIELDS[i] as string;
    const kind = KINDS[i];
    r[k] = kind === 'n' ? Number(v) : kind === 's' ? v : JSON.parse(v);
  }
  return r as unknown as TaskRecord;
}

/** Records from a script's array of record replies. */
export function decodeRecords(replies: readonly (readonly (string | null)[])[]): TaskRecord[] {
  const out: TaskRecord[] = [];
  for (const values of replies) {
    const t = decodeRecord(values);
    if (t !== undefined) out.push(t);
  }
  return out;
}
