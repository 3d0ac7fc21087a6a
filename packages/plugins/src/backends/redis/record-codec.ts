import { SwitchboardError, type TaskRecord } from '@switchboard/core';

// A record is one Redis hash of few fields, so the scripts scan, copy and answer little:
//   d  the fields that never change and only the client reads (id, capability, payload,
//      metadata, idempotencyKey, sessionKey, fairnessKey, submitter, trace context, createdAt),
//      one JSON object;
//   s  the state the scripts read and rewrite (see encodeState), one space-separated line;
//   e  the last error, r the result ('' for none), g the last progress: JSON only the
//      client parses;
//   c  the capability and k the idempotency key, for the scripts that need them.
// Lua never re-encodes a payload (cjson would turn `[]` into `{}` and round numbers).

/**
 * The fields of a record hash a script answers (`HMGET`), in order: a reply is their values.
 * `d` comes first: the scripts test it for "no such task".
 */
export const RECORD_FIELDS: readonly string[] = ['d', 's', 'e', 'r', 'g'];

/** The hash fields `d` and `s` of a record, as a script stores them. */
export interface EncodedRecord {
  readonly d: string;
  readonly s: string;
}

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

// A token or instant that is empty or holds whitespace would break the state line apart.
const FIELD = /^\S+$/;

function field(t: TaskRecord, name: 'leaseToken' | 'leaseExpiresAt'): string {
  const v = t[name];
  if (v === undefined) return '';
  const text = String(v);
  if (!FIELD.test(text)) {
    throw new SwitchboardError('invalid_request', `[redis] task ${t.id} ${name} is malformed`, {
      details: { id: t.id, [name]: v },
    });
  }
  return text;
}

/**
 * The state line `s`: `status updatedAt leaseToken attempts leaseExpiresAt availableAt
 * maxAttempts timeoutMs priority` (token and expiry empty when absent), then ` agentId` when
 * there is one. What a lease or a complete rewrites comes first; the agent id comes last, so
 * it may hold anything; the rest never holds a space.
 */
export function encodeState(t: TaskRecord): string {
  const lease = `${field(t, 'leaseToken')} ${t.attempts} ${field(t, 'leaseExpiresAt')}`;
  const line = `${t.status} ${t.updatedAt} ${lease} ${t.availableAt} ${t.maxAttempts} ${t.timeoutMs} ${t.priority}`;
  return t.agentId === undefined ? line : `${line} ${t.agentId}`;
}

/** The fields `d` and `s` of a record; `invalid_request` when a value cannot be stored. */
export function encodeRecord(t: TaskRecord): EncodedRecord {
  let d = `{"i":${JSON.stringify(t.id)},"c":${JSON.stringify(t.capability)},"t":"${t.createdAt}"`;
  const payload = toJson(t.payload, `task ${t.id} payload`);
  if (payload !== undefined) d += `,"p":${payload}`;
  const metadata = toJson(t.metadata, `task ${t.id} metadata`);
  if (metadata !== undefined) d += `,"m":${metadata}`;
  if (t.idempotencyKey !== undefined) d += `,"k":${JSON.stringify(String(t.idempotencyKey))}`;
  if (t.sessionKey !== undefined) d += `,"s":${JSON.stringify(String(t.sessionKey))}`;
  if (t.fairnessKey !== undefined) d += `,"f":${JSON.stringify(String(t.fairnessKey))}`;
  if (t.submitter !== undefined) d += `,"u":${JSON.stringify(String(t.submitter))}`;
  if (t.traceparent !== undefined) d += `,"x":${JSON.stringify(String(t.traceparent))}`;
  if (t.tracestate !== undefined) d += `,"y":${JSON.stringify(String(t.tracestate))}`;
  return { d: `${d}}`, s: encodeState(t) };
}

interface Immutable {
  i: string;
  c: string;
  t: string;
  p?: unknown;
  m?: Record<string, unknown>;
  k?: string;
  s?: string;
  f?: string;
  u?: string;
  x?: string;
  y?: string;
}

/**
 * A record from the values of {@link RECORD_FIELDS} (`r` may be left out); `undefined` when
 * the task does not exist.
 */
export function decodeRecord(values: readonly (string | null)[]): TaskRecord | undefined {
  const d = values[0];
  const s = values[1];
  if (d === null || d === undefined || s === null || s === undefined) return undefined;
  const o = JSON.parse(d) as Immutable;
  // Nine space-separated fields, then the agent id (anything, spaces included) if any.
  const f: string[] = [];
  let from = 0;
  for (let n = 0; n < 9; n++) {
    const at = s.indexOf(' ', from);
    f.push(s.slice(from, at < 0 ? s.length : at));
    from = at < 0 ? s.length + 1 : at + 1;
  }
  const r: Record<string, unknown> = {
    id: o.i,
    capability: o.c,
    priority: f[8],
    status: f[0],
    attempts: Number(f[3]),
    maxAttempts: Number(f[6]),
    timeoutMs: Number(f[7]),
    availableAt: Number(f[5]),
    createdAt: Number(o.t),
    updatedAt: Number(f[1]),
  };
  if (o.p !== undefined) r.payload = o.p;
  if (o.m !== undefined) r.metadata = o.m;
  if (o.k !== undefined) r.idempotencyKey = o.k;
  if (o.s !== undefined) r.sessionKey = o.s;
  if (o.f !== undefined) r.fairnessKey = o.f;
  if (o.u !== undefined) r.submitter = o.u;
  if (o.x !== undefined) r.traceparent = o.x;
  if (o.y !== undefined) r.tracestate = o.y;
  if (from <= s.length) r.agentId = s.slice(from);
  if (f[4] !== '') r.leaseExpiresAt = Number(f[4]);
  if (f[2] !== '') r.leaseToken = f[2];
  const e = values[2];
  if (e !== null && e !== undefined) r.error = JSON.parse(e);
  const result = values[3];
  if (result !== null && result !== undefined && result !== '') r.result = JSON.parse(result);
  const progress = values[4];
  if (progress !== null && progress !== undefined) r.progress = JSON.parse(progress);
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

/** The record of a reply that must hold one; `internal` when it does not. */
export function one(reply: readonly (string | null)[]): TaskRecord {
  const t = decodeRecord(reply);
  if (t === undefined) throw new SwitchboardError('internal', '[redis] empty reply for a task');
  return t;
}

/** A held lease's record as its complete wrote it (`leaseExpiresAt` as the server has it). */
export function completed(
  held: readonly (string | null)[],
  leaseExpiresAt: string | null,
  json: string | undefined,
  now: number,
): TaskRecord {
  const t = one(held) as unknown as Record<string, unknown>;
  t.status = 'completed';
  t.updatedAt = now;
  if (leaseExpiresAt !== null) t.leaseExpiresAt = Number(leaseExpiresAt);
  return withResult(t as unknown as TaskRecord, json);
}

/** `t` with the result a complete stored (the script does not send it back). */
export function withResult(t: TaskRecord, json: string | undefined): TaskRecord {
  // Parsed back, as a full read would: the caller gets the JSON's value, not its own object.
  if (json === undefined) delete t.result;
  else t.result = JSON.parse(json);
  return t;
}
