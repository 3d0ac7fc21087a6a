import {
  type AgentDirectory,
  type Backend,
  type ClusterChannel,
  type Completion,
  createLeaseToken,
  type EnqueueResult,
  type FailOutcome,
  type LeaseRequest,
  priorityLevel,
  type QueueStats,
  SwitchboardError,
  type TaskError,
  type TaskRecord,
} from '@switchboard/core';
import { CallBatcher } from './call-batcher.js';
import { HeldLeases } from './held-leases.js';
import { defineScripts, type ScriptName } from './lua-scripts.js';
import {
  completed,
  decodeRecord,
  decodeRecords,
  encodeRecord,
  one,
  RECORD_FIELDS,
  toJson,
  withResult,
} from './record-codec.js';
import { defineAgentScripts, RedisAgentDirectory, redisClusterChannel } from './redis-agents.js';
import { outage } from './redis-client.js';
import { RedisLink } from './redis-link.js';
import { type RedisBackendOptions, resolveRedisOptions } from './redis-options.js';
import { type ErrorSubject, errorOf, scriptError } from './script-errors.js';

// One array argument: ioredis flattens it, where spreading a large batch's arguments into the
// call would overflow the stack.
type Script = (args: readonly string[]) => Promise<unknown>;
type Reply = readonly (string | null)[];

const EXPIRED_JSON = JSON.stringify({ message: 'lease expired', code: 'expired', retryable: true });
// One lease call takes at most this many tasks, so its tokens stay a modest argument list.
const MAX_LEASE_BATCH = 1000;
// Leases whose complete/fail answer was lost, kept so the caller's retry can be recognized.
const MAX_UNCERTAIN = 10_000;
// Completes gathered into one script call at most.
const MAX_COMPLETE_BATCH = 256;
// Leased records kept for their complete (see HeldLeases) at most.
const MAX_HELD = 10_000;

/**
 * The Redis {@link Backend}: several Switchboard processes share queues, leases, the task
 * store and dead letters on one Redis server. Every transition is one Lua script, so it is
 * atomic across processes: strict priority and FIFO within a priority hold across them, a
 * task is leased by one process at a time, and `expireLeases` may run everywhere at once.
 *
 * Durable as the server's persistence is: with `appendonly yes` and `appendfsync always`,
 * what a call acknowledged survives a crash of the server; with `everysec`, up to a second
 * may be lost. A process that dies loses nothing: its leases expire and others reclaim them.
 *
 * Connections: two per backend, whatever the load (one for commands and publishing, one
 * subscribed to the `available` and `cluster` channels); completes issued together go as
 * one script call. The agent directory ({@link agents}) and the cluster channel
 * ({@link cluster}, events and notices between processes) ride on the same two. While the server
 * is unreachable every method rejects `unavailable` (retryable) and both reconnect with
 * backoff.
 *
 * Time: methods use the caller's `now`. Processes must agree on the clock (NTP): a process
 * ahead by `d` ms leases delayed tasks and expires leases up to `d` ms early.
 *
 * @example
 * ```ts
 * const backend = createRedisBackend({ url: 'redis://10.0.0.5:6379', prefix: 'prod' })
 * await backend.open()
 * await backend.enqueue([record])
 * const [task] = await backend.lease({ capability: 'browser', agentId: 'a1', max: 1, now: Date.now() })
 * ```
 */
export class RedisBackend implements Backend {
  readonly name = 'redis';
  readonly durable = true;
  /** The remote agents of every process on this server and prefix. */
  readonly agents: AgentDirectory;
  /** Events and notices between the processes, on the `cluster` pub/sub channel. */
  readonly cluster: ClusterChannel;

  private readonly link: RedisLink;
  private readonly base: readonly string[];
  /** id → token of leases whose complete or fail may have run though the reply was lost. */
  private readonly uncertain = new Map<string, string>();
  private readonly completes: CallBatcher<string[], Reply | string>;
  private readonly held = new HeldLeases(MAX_HELD);

  constructor(options: RedisBackendOptions = {}) {
    const o = resolveRedisOptions(options);
    this.link = new RedisLink(o, (client) => {
      defineScripts(client);
      defineAgentScripts(client);
    });
    this.agents = new RedisAgentDirectory(this.link, o.keyPrefix);
    this.cluster = redisClusterChannel(this.link);
    this.base = [o.keyPrefix, '', String(o.maxRetained), String(o.retainMs)];
    this.completes = new CallBatcher(
      (items) => this.script<(Reply | string)[]>('sbComplete', 0, items.flat()),
      MAX_COMPLETE_BATCH,
    );
    if (o.leaseSweepMs > 0)
      this.link.sweepEvery(o.leaseSweepMs, () => this.expireLeases(Date.now()));
  }

  async open(): Promise<void> {
    await this.link.open();
  }

  async close(): Promise<void> {
    await this.link.close();
  }

  async enqueue(records: readonly TaskRecord[]): Promise<EnqueueResult[]> {
    const args = [String(records.length)];
    const seen = new Map<string, string | undefined>();
    for (let i = 0; i < records.length; i++) {
      const t = records[i] as TaskRecord;
      if (priorityLevel(t.priority) === undefined) {
        throw new SwitchboardError('invalid_request', `[redis] unknown priority ${t.priority}`, {
          details: { index: i, priority: t.priority },
        });
      }
      const key = t.idempotencyKey;
      if (seen.has(t.id) && (key === undefined || seen.get(t.id) !== key)) {
        throw new SwitchboardError('conflict', `[redis] task ${t.id} twice in one batch`, {
          details: { index: i, id: t.id },
        });
      }
      seen.set(t.id, key);
      const { d, s } = encodeRecord({ ...t, status: 'queued' });
      const at = String(t.availableAt);
      args.push(t.id, key ?? '', t.capability, t.priority, at, String(t.updatedAt), d, s);
    }
    if (records.length === 0) return [];
    const replies = await this.script<(number | Reply)[]>('sbEnqueue', 0, args, records);
    return replies.map((r, i) =>
      r === 1
        ? { task: { ...(records[i] as TaskRecord), status: 'queued' }, created: true }
        : { task: decodeRecord(r as Reply) as TaskRecord, created: false },
    );
  }

  async lease(request: LeaseRequest): Promise<TaskRecord[]> {
    const { max, now } = request;
    if (!Number.isInteger(max) || max < 1) {
      throw new SwitchboardError('invalid_request', `[redis] lease max must be an integer ≥ 1`, {
        details: { max },
      });
    }
    const args = [request.capability, request.agentId];
    for (let i = Math.min(max, MAX_LEASE_BATCH); i > 0; i--) args.push(createLeaseToken());
    const replies = await this.script<Reply[]>('sbLease', now, args);
    const out: TaskRecord[] = [];
    for (const reply of replies) {
      const t = decodeRecord(reply);
      if (t === undefined) continue;
      this.held.hold(t.id, t.leaseToken as string, reply);
      out.push(t);
    }
    return out;
  }

  /**
   * Completes a leased task. When the server ran a complete but its reply was lost (the call
   * rejected `unavailable`), the caller's retry with the same token returns the completed
   * task instead of `conflict`; any other complete of a completed task is a `conflict`.
   */
  async complete(
    id: string,
    leaseToken: string,
    result: unknown,
    now: number,
  ): Promise<TaskRecord> {
    const c = this.completion(id, leaseToken, result, now);
    return this.settle(id, leaseToken, async () => c.settle(await this.completes.add(c.item)));
  }

  /**
   * Completes many leases in one script call (a few, past {@link MAX_COMPLETE_BATCH}), each
   * as `complete` would: a lease that fails holds its error in its slot. Rejects when none
   * could be sent (`unavailable`).
   */
  async completeMany(
    completions: readonly Completion[],
    now: number,
  ): Promise<(TaskRecord | SwitchboardError)[]> {
    const out: (TaskRecord | SwitchboardError)[] = new Array(completions.length);
    const sent: { slot: number; c: PendingCompletion }[] = [];
    for (let i = 0; i < completions.length; i++) {
      const { id, leaseToken, result } = completions[i] as Completion;
      try {
        sent.push({ slot: i, c: this.completion(id, leaseToken, result, now) });
      } catch (err) {
        out[i] = err as SwitchboardError;
      }
    }
    const calls: Promise<unknown>[] = [];
    for (let k = 0; k < sent.length; k += MAX_COMPLETE_BATCH) {
      const chunk = sent.slice(k, k + MAX_COMPLETE_BATCH);
      const args = chunk.flatMap(({ c }) => c.item);
      const replies = this.script<(Reply | string)[]>('sbComplete', 0, args);
      chunk.forEach(({ slot, c }, j) => {
        const settled = this.settle(c.id, c.token, async () => c.settle((await replies)[j]));
        calls.push(
          settled.then(
            (t) => (out[slot] = t),
            (err) => (out[slot] = fault(err)),
          ),
        );
      });
    }
    if (sent.length === 0) await this.link.client();
    await Promise.all(calls);
    const first = out[sent[0]?.slot ?? -1];
    if (first instanceof SwitchboardError && first.code === 'unavailable') {
      if (sent.every(({ slot }) => out[slot] === first)) throw first;
    }
    return out;
  }

  /** A complete to send: its script item, and how to read its reply. */
  private completion(id: string, token: string, result: unknown, now: number): PendingCompletion {
    const json = toJson(result, `result of task ${id}`);
    const held = this.held.take(id, token);
    const item = [id, token, json ?? '', String(now), held === undefined ? '0' : '1'];
    const settle = (reply: Reply | string | undefined): TaskRecord => {
      if (typeof reply === 'string') {
        const space = reply.indexOf(' ');
        throw errorOf('sbComplete', reply.slice(0, space), reply.slice(space + 1), id);
      }
      if (reply === undefined) throw new SwitchboardError('internal', '[redis] no reply');
      if (held === undefined) return withResult(one(reply), json);
      return completed(held, reply[0] ?? null, json, now);
    };
    return { id, token, item, settle };
  }

  /** Ends a leased attempt; a retry after a lost reply is recognized as `complete`'s is. */
  async fail(
    id: string,
    leaseToken: string,
    error: TaskError,
    outcome: FailOutcome,
    now: number,
  ): Promise<TaskRecord> {
    const err = toJson(error, `error of task ${id}`) ?? '{}';
    const args = [id, leaseToken, err, outcome.retry ? '1' : '0', String(outcome.availableAt)];
    this.held.drop(id);
    return this.settle(id, leaseToken, async () =>
      one(await this.script<Reply>('sbFail', now, args, id)),
    );
  }

  async extend(id: string, leaseToken: string, ms: number, now: number): Promise<TaskRecord> {
    if (!(ms > 0) || !Number.isFinite(ms)) {
      throw new SwitchboardError('invalid_request', `[redis] extend ms must be > 0`, {
        details: { ms },
      });
    }
    return one(await this.script<Reply>('sbExtend', now, [id, leaseToken, String(ms)], id));
  }

  async release(
    leases: readonly { id: string; leaseToken: string }[],
    error: TaskError,
    now: number,
  ): Promise<TaskRecord[]> {
    const args = [toJson(error, 'release error') ?? '{}'];
    for (const { id, leaseToken } of leases) {
      this.held.drop(id);
      args.push(id, leaseToken);
    }
    return decodeRecords(await this.script<Reply[]>('sbRelease', now, args));
  }

  async cancel(id: string, now: number): Promise<TaskRecord> {
    return one(await this.script<Reply>('sbCancel', now, [id], id));
  }

  async get(id: string): Promise<TaskRecord | undefined> {
    const client = await this.link.client();
    const key = `${this.base[0]}t:${id}`;
    const values = await client.hmget(key, ...RECORD_FIELDS).catch((err: unknown) => {
      throw outage('get', err);
    });
    return decodeRecord(values);
  }

  async expireLeases(now: number): Promise<TaskRecord[]> {
    return decodeRecords(await this.script<Reply[]>('sbExpire', now, [EXPIRED_JSON]));
  }

  async readyCapabilities(now: number): Promise<string[]> {
    return this.script<string[]>('sbReady', now, []);
  }

  async nextAvailableAt(): Promise<number | undefined> {
    const client = await this.link.client();
    const first = await client
      .zrange(`${this.base[0]}delayed`, '0', '0', 'WITHSCORES')
      .catch((err) => {
        throw outage('nextAvailableAt', err);
      });
    return first.length === 2 ? Number(first[1]) : undefined;
  }

  async deadLetters(limit = Number.POSITIVE_INFINITY): Promise<TaskRecord[]> {
    if (!(limit >= 0)) {
      throw new SwitchboardError('invalid_request', `[redis] limit must be ≥ 0`, {
        details: { limit },
      });
    }
    const n = limit === Number.POSITIVE_INFINITY ? '-1' : String(Math.floor(limit));
    return decodeRecords(await this.script<Reply[]>('sbDead', 0, [n]));
  }

  async replay(id: string, now: number): Promise<TaskRecord> {
    return one(await this.script<Reply>('sbReplay', now, [id], id));
  }

  async deleteDeadLetter(id: string): Promise<void> {
    await this.script('sbDeleteDead', 0, [id], id);
  }

  async stats(): Promise<QueueStats> {
    const [critical, high, normal, low, leased, delayed, dead] = (
      await this.script<(string | number)[]>('sbStats', 0, [])
    ).map(Number) as number[];
    const byPriority = { critical, high, normal, low } as QueueStats['byPriority'];
    const depth = (critical ?? 0) + (high ?? 0) + (normal ?? 0) + (low ?? 0);
    return { depth, byPriority, leased: leased ?? 0, delayed: delayed ?? 0, dead: dead ?? 0 };
  }

  /** Hears tasks made available by any process on the same server and prefix (pub/sub). */
  onAvailable(listener: (capability: string) => void): () => void {
    return this.link.listen(listener);
  }

  /** Runs `call`, and recognizes a retry of a complete/fail whose earlier reply was lost. */
  private async settle(
    id: string,
    token: string,
    call: () => Promise<TaskRecord>,
  ): Promise<TaskRecord> {
    try {
      const t = await call();
      this.uncertain.delete(id);
      return t;
    } catch (err) {
      if (!(err instanceof SwitchboardError)) throw err;
      if (err.code === 'unavailable') {
        if (this.uncertain.size >= MAX_UNCERTAIN) {
          this.uncertain.delete(this.uncertain.keys().next().value as string);
        }
        this.uncertain.set(id, token);
      } else if ((err.details as { ended?: boolean } | undefined)?.ended) {
        if (this.uncertain.get(id) === token) {
          this.uncertain.delete(id);
          const t = await this.get(id);
          if (t !== undefined) return t;
        }
      }
      throw err;
    }
  }

  /** Runs a script; `subject` (an id, or the enqueued records) names what an error is about. */
  private async script<T>(
    name: ScriptName,
    now: number,
    args: readonly string[],
    subject?: ErrorSubject,
  ): Promise<T> {
    const client = await this.link.client();
    const all = this.base.concat(args);
    all[1] = String(now);
    try {
      return (await (client as unknown as Record<ScriptName, Script>)[name](all)) as T;
    } catch (err) {
      throw scriptError(name, err, subject);
    }
  }
}

/** One complete on its way: the script's item, and the record (or error) of its reply. */
interface PendingCompletion {
  readonly id: string;
  readonly token: string;
  readonly item: string[];
  readonly settle: (reply: Reply | string | undefined) => TaskRecord;
}

/** A slot's error: a `SwitchboardError` as it is, anything else as `internal`. */
function fault(err: unknown): SwitchboardError {
  return err instanceof SwitchboardError
    ? err
    : new SwitchboardError('internal', '[redis] complete failed', { cause: err });
}

/**
 * Creates the Redis {@link Backend}. Processes that pass the same server and `prefix` share
 * one set of queues.
 *
 * @example
 * ```ts
 * import { createRedisBackend } from '@switchboard/plugins/redis'
 * const backend = createRedisBackend({ url: process.env.REDIS_URL, prefix: 'prod' })
 * await backend.open()
 * ```
 */
export function createRedisBackend(options?: RedisBackendOptions): RedisBackend {
  return new RedisBackend(options);
}
