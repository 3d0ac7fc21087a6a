import type { ScheduleRecord, ScheduleStore } from '@switchboard/core';
import type { Redis } from 'ioredis';
import { defineScriptSet, runPrefixed } from './prefixed-scripts.js';
import { outage } from './redis-client.js';
import type { RedisLink } from './redis-link.js';

// Keys (after the prefix): `sc:<id>` a schedule's hash (`rec` its spec as JSON, `last` the
// latest tick claimed, `settled` the latest tick settled, `firedAt` and `task` the last task
// submitted and its tick); `schedules` the set of ids. ARGV[1] is the prefix everywhere.
// Instants are compared as numbers and stored as the strings the caller gave.

// A write merges the tick state forward: never a tick behind what another process claimed.
const PUT = `
local k = ARGV[1] .. 'sc:' .. ARGV[2]
local last = redis.call('HGET', k, 'last')
redis.call('HSET', k, 'rec', ARGV[3])
if not last then
  redis.call('HSET', k, 'last', ARGV[4], 'settled', ARGV[5])
  if ARGV[6] ~= '' then redis.call('HSET', k, 'firedAt', ARGV[6], 'task', ARGV[7]) end
else
  if tonumber(ARGV[4]) > tonumber(last) then redis.call('HSET', k, 'last', ARGV[4]) end
  if tonumber(ARGV[5]) > tonumber(redis.call('HGET', k, 'settled')) then
    redis.call('HSET', k, 'settled', ARGV[5])
  end
end
redis.call('SADD', ARGV[1] .. 'schedules', ARGV[2])
return 1
`;

// The claim of a tick: of every process that tries the same tick, one sees 1.
const CLAIM = `
local k = ARGV[1] .. 'sc:' .. ARGV[2]
local last = redis.call('HGET', k, 'last')
if not last or tonumber(ARGV[3]) <= tonumber(last) then return 0 end
redis.call('HSET', k, 'last', ARGV[3])
return 1
`;

const SETTLE = `
local k = ARGV[1] .. 'sc:' .. ARGV[2]
local settled = redis.call('HGET', k, 'settled')
if not settled then return 0 end
local t = tonumber(ARGV[3])
if t > tonumber(settled) then redis.call('HSET', k, 'settled', ARGV[3]) end
if ARGV[4] ~= '' then
  local fired = redis.call('HGET', k, 'firedAt')
  if not fired or t >= tonumber(fired) then redis.call('HSET', k, 'firedAt', ARGV[3], 'task', ARGV[4]) end
end
return 1
`;

const LIST = `
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', ARGV[1] .. 'schedules')) do
  out[#out + 1] = redis.call('HMGET', ARGV[1] .. 'sc:' .. id, 'rec', 'last', 'settled', 'firedAt', 'task')
end
return out
`;

const DELETE = `
redis.call('SREM', ARGV[1] .. 'schedules', ARGV[2])
return redis.call('DEL', ARGV[1] .. 'sc:' .. ARGV[2])
`;

const SCRIPTS = {
  sbScPut: PUT,
  sbScClaim: CLAIM,
  sbScSettle: SETTLE,
  sbScList: LIST,
  sbScDelete: DELETE,
} as const;
type ScheduleScript = keyof typeof SCRIPTS;
type Reply = readonly (string | null)[];
const FIELDS = ['rec', 'last', 'settled', 'firedAt', 'task'] as const;

/** Defines the schedule store's scripts on the command connection. */
export function defineScheduleScripts(client: Redis): void {
  defineScriptSet(client, SCRIPTS);
}

/**
 * The schedule store of the Redis backend: one hash per schedule, every write one script, so
 * that with several processes on one server and prefix each tick is claimed by exactly one
 * of them (`claimTick` compares and sets the hash's `last` atomically).
 */
export class RedisScheduleStore implements ScheduleStore {
  constructor(
    private readonly link: RedisLink,
    private readonly prefix: string,
  ) {}

  async put(record: ScheduleRecord): Promise<void> {
    const { lastTickAt, settledTickAt, lastFiredAt, lastTaskId, ...spec } = record;
    await this.run('sbScPut', [
      record.id,
      JSON.stringify(spec),
      String(lastTickAt),
      String(settledTickAt),
      lastFiredAt === undefined ? '' : String(lastFiredAt),
      lastTaskId ?? '',
    ]);
  }

  async get(id: string): Promise<ScheduleRecord | undefined> {
    const client = await this.link.client();
    const values = await client.hmget(`${this.prefix}sc:${id}`, ...FIELDS).catch((err: unknown) => {
      throw outage('schedule get', err);
    });
    return decode(values);
  }

  async list(): Promise<ScheduleRecord[]> {
    const out: ScheduleRecord[] = [];
    for (const reply of await this.run<Reply[]>('sbScList', [])) {
      const record = decode(reply);
      if (record !== undefined) out.push(record);
    }
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async delete(id: string): Promise<boolean> {
    return (await this.run<number>('sbScDelete', [id])) === 1;
  }

  async claimTick(id: string, tickAt: number): Promise<boolean> {
    return (await this.run<number>('sbScClaim', [id, String(tickAt)])) === 1;
  }

  async settleTick(id: string, tickAt: number, taskId?: string): Promise<void> {
    await this.run('sbScSettle', [id, String(tickAt), taskId ?? '']);
  }

  private run<T>(name: ScheduleScript, args: readonly string[]): Promise<T> {
    return runPrefixed<T>(this.link, this.prefix, name, args);
  }
}

/** A record from `rec`, `last`, `settled`, `firedAt`, `task`; `undefined` when absent or unreadable. */
function decode(values: Reply | null): ScheduleRecord | undefined {
  const rec = values?.[0];
  if (values === null || rec === null || rec === undefined) return undefined;
  let record: ScheduleRecord;
  try {
    record = JSON.parse(rec) as ScheduleRecord;
  } catch {
    // Written by hand or by an incompatible version: as if absent.
    return undefined;
  }
  record.lastTickAt = Number(values[1]);
  record.settledTickAt = Number(values[2]);
  if (values[3] !== null && values[3] !== undefined) record.lastFiredAt = Number(values[3]);
  if (values[4] !== null && values[4] !== undefined) record.lastTaskId = values[4];
  return record;
}
