import {
  type SharedStreamBounds,
  type StoredChunk,
  type StreamRead,
  type StreamStore,
  SwitchboardError,
} from '@switchboard/core';
import type { Redis } from 'ioredis';
import { outage } from './redis-client.js';
import type { RedisLink } from './redis-link.js';

// A task's stream is a Redis stream at `st:<taskId>` (after the prefix) whose entry ids are
// `<seq>-0`, so that the id is the chunk's seq and a read resumes after one with XRANGE. Each
// entry has `d` (the chunk's JSON text) and `a` (when it was appended). The append trims to
// `maxChunks` entries (the oldest go) and moves the key's expiry to `retainMs` from then.

// ARGV[1] the key, ARGV[2] maxChunks, ARGV[3] retainMs, ARGV[4] now, ARGV[5..] the texts.
const APPEND = `
local key = ARGV[1]
local last = redis.call('XREVRANGE', key, '+', '-', 'COUNT', 1)
local seq = 0
if last[1] then seq = tonumber(string.match(last[1][1], '^(%d+)')) end
for i = 5, #ARGV do
  seq = seq + 1
  redis.call('XADD', key, 'MAXLEN', ARGV[2], seq .. '-0', 'd', ARGV[i], 'a', ARGV[4])
end
redis.call('PEXPIRE', key, ARGV[3])
return seq
`;

/** Defines the stream store's script on the command connection. */
export function defineStreamScripts(client: Redis): void {
  client.defineCommand('sbStAppend', { numberOfKeys: 0, lua: APPEND });
}

type Entry = [id: string, fields: string[]];

/**
 * The stream store of the Redis backend: a task's chunks in a Redis stream of their own, so
 * that every process on this server and prefix reads the same stream, whichever appended to
 * it. Bounded by `maxChunks` per task and `retainMs` after the last chunk (the key expires);
 * the byte bounds of the memory store do not apply here (a chunk is still at most
 * `maxChunkBytes`, checked before it is sent).
 */
export class RedisStreamStore implements StreamStore {
  constructor(
    private readonly link: RedisLink,
    private readonly prefix: string,
    private readonly bounds: SharedStreamBounds,
  ) {}

  async append(taskId: string, texts: readonly string[], now: number): Promise<number> {
    const client = await this.link.client();
    const args = [
      this.key(taskId),
      String(this.bounds.maxChunks),
      String(this.bounds.retainMs),
      String(now),
      ...texts,
    ];
    const call = (client as unknown as Record<string, (a: string[]) => Promise<unknown>>)
      .sbStAppend as (a: string[]) => Promise<unknown>;
    try {
      return Number(await call.call(client, args));
    } catch (err) {
      if (err instanceof SwitchboardError) throw err;
      throw outage('stream append', err);
    }
  }

  async read(taskId: string, after: number, limit: number): Promise<StreamRead> {
    const client = await this.link.client();
    const entries = (await client
      .xrange(this.key(taskId), `${after + 1}-0`, '+', 'COUNT', limit)
      .catch((err: unknown) => {
        throw outage('stream read', err);
      })) as Entry[];
    const chunks: StoredChunk[] = [];
    for (const [id, fields] of entries) {
      const seq = Number.parseInt(id, 10);
      let json = '';
      let at = 0;
      for (let i = 0; i + 1 < fields.length; i += 2) {
        if (fields[i] === 'd') json = fields[i + 1] as string;
        else if (fields[i] === 'a') at = Number(fields[i + 1]);
      }
      chunks.push({ seq, json, at });
    }
    const first = chunks[0]?.seq;
    return { chunks, dropped: first === undefined ? 0 : first - after - 1 };
  }

  private key(taskId: string): string {
    return `${this.prefix}st:${taskId}`;
  }
}
