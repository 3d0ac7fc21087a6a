import type {
  AgentDirectory,
  AgentRecord,
  ClusterChannel,
  ClusterMessage,
} from '@switchboard/core';
import type { Redis } from 'ioredis';
import { defineScriptSet, runPrefixed } from './prefixed-scripts.js';
import { outage } from './redis-client.js';
import type { RedisLink } from './redis-link.js';

// Keys (after the prefix): `ag:<id>` an agent's hash (`rec` its record as JSON, `hb` its last
// heartbeat, `own` the process that heard it, `to` its heartbeat timeout); `agents` the ids
// scored by the instant they stop being live (hb + to). ARGV[1] is the prefix everywhere.
const PUT = `
local k = ARGV[1] .. 'ag:' .. ARGV[2]
redis.call('HSET', k, 'rec', ARGV[3], 'hb', ARGV[4], 'to', ARGV[5], 'own', ARGV[6])
redis.call('ZADD', ARGV[1] .. 'agents', tonumber(ARGV[4]) + tonumber(ARGV[5]), ARGV[2])
return 1
`;

// A heartbeat: only a live record is refreshed, so a dead agent must register again.
const TOUCH = `
local k, z = ARGV[1] .. 'ag:' .. ARGV[2], ARGV[1] .. 'agents'
local now = tonumber(ARGV[4])
local until_ = redis.call('ZSCORE', z, ARGV[2])
if not until_ or tonumber(until_) <= now then return false end
redis.call('HSET', k, 'hb', ARGV[4], 'own', ARGV[3])
redis.call('ZADD', z, now + tonumber(redis.call('HGET', k, 'to')), ARGV[2])
return redis.call('HMGET', k, 'rec', 'hb', 'own')
`;

// With a staleAt (ARGV[3] not empty), a claim: removes only a record no longer live then, so
// of several processes failing one agent over, one removes it.
const REMOVE = `
local k, z = ARGV[1] .. 'ag:' .. ARGV[2], ARGV[1] .. 'agents'
if ARGV[3] ~= '' then
  local until_ = redis.call('ZSCORE', z, ARGV[2])
  if not until_ or tonumber(until_) > tonumber(ARGV[3]) then return 0 end
end
redis.call('ZREM', z, ARGV[2])
return redis.call('DEL', k)
`;

// Every record; those dead for longer than ARGV[3] ms (nobody claimed them: their process
// died too) are pruned first.
const LIST = `
local z = ARGV[1] .. 'agents'
local old = redis.call('ZRANGEBYSCORE', z, '-inf', tonumber(ARGV[2]) - tonumber(ARGV[3]))
for _, id in ipairs(old) do
  redis.call('DEL', ARGV[1] .. 'ag:' .. id)
  redis.call('ZREM', z, id)
end
local out = {}
for _, id in ipairs(redis.call('ZRANGE', z, 0, -1)) do
  out[#out + 1] = redis.call('HMGET', ARGV[1] .. 'ag:' .. id, 'rec', 'hb', 'own')
end
return out
`;

const SCRIPTS = { sbAgPut: PUT, sbAgTouch: TOUCH, sbAgRemove: REMOVE, sbAgList: LIST } as const;
type AgentScript = keyof typeof SCRIPTS;
type Reply = readonly (string | null)[];

/** Records dead this long are pruned by `list` (a dead process could not fail them over). */
const PRUNE_AFTER_MS = 3_600_000;

/** Defines the directory's scripts on the command connection. */
export function defineAgentScripts(client: Redis): void {
  defineScriptSet(client, SCRIPTS);
}

/**
 * The agent directory of the Redis backend: one hash per agent and a sorted set by the
 * instant each stops being live, every write one script. Shared by every process on the
 * same server and prefix.
 */
export class RedisAgentDirectory implements AgentDirectory {
  constructor(
    private readonly link: RedisLink,
    private readonly prefix: string,
  ) {}

  async put(record: AgentRecord): Promise<void> {
    const rec = JSON.stringify(record);
    const hb = String(record.lastHeartbeatAt);
    await this.run('sbAgPut', [
      record.id,
      rec,
      hb,
      String(record.heartbeatTimeoutMs),
      record.owner,
    ]);
  }

  async touch(id: string, owner: string, now: number): Promise<AgentRecord | undefined> {
    return decode(await this.run<Reply | null>('sbAgTouch', [id, owner, String(now)]));
  }

  async remove(id: string, options: { staleAt?: number } = {}): Promise<boolean> {
    const staleAt = options.staleAt === undefined ? '' : String(options.staleAt);
    return (await this.run<number>('sbAgRemove', [id, staleAt])) === 1;
  }

  async get(id: string): Promise<AgentRecord | undefined> {
    const client = await this.link.client();
    const values = await client
      .hmget(`${this.prefix}ag:${id}`, 'rec', 'hb', 'own')
      .catch((err: unknown) => {
        throw outage('agent get', err);
      });
    return decode(values);
  }

  async list(now: number): Promise<AgentRecord[]> {
    const replies = await this.run<Reply[]>('sbAgList', [String(now), String(PRUNE_AFTER_MS)]);
    const out: AgentRecord[] = [];
    for (const reply of replies) {
      const record = decode(reply);
      if (record !== undefined) out.push(record);
    }
    return out;
  }

  private run<T>(name: AgentScript, args: readonly string[]): Promise<T> {
    return runPrefixed<T>(this.link, this.prefix, name, args);
  }
}

/** A record from `rec`, `hb`, `own`; `undefined` when absent or unreadable. */
function decode(values: Reply | null): AgentRecord | undefined {
  const rec = values?.[0];
  if (values === null || rec === null || rec === undefined) return undefined;
  try {
    const record = JSON.parse(rec) as AgentRecord;
    record.lastHeartbeatAt = Number(values[1]);
    record.owner = values[2] ?? record.owner;
    return record;
  } catch {
    // Written by hand or by an incompatible version: as if unknown (it registers again).
    return undefined;
  }
}

/**
 * The cluster channel of the Redis backend: JSON messages on the `cluster` pub/sub channel,
 * published on the command connection and heard on the subscriber (no extra connection).
 */
export function redisClusterChannel(link: RedisLink): ClusterChannel {
  return {
    publish(message: ClusterMessage): void {
      link.publishCluster(JSON.stringify(message));
    },
    subscribe(listener: (message: ClusterMessage) => void): () => void {
      return link.listenCluster((text) => {
        let message: ClusterMessage;
        try {
          message = JSON.parse(text) as ClusterMessage;
        } catch {
          // Not ours (someone published on the channel by hand): ignored.
          return;
        }
        listener(message);
      });
    },
  };
}
