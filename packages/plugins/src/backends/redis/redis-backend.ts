import {
  type AgentDirectory,
  type Backend,
  type ClusterChannel,
  type Completion,
  checkTaskListQuery,
  createLeaseToken,
  type EnqueueResult,
  encodeTaskCursor,
  type FailOutcome,
  type LeaseRequest,
  priorityLevel,
  type QueueStats,
  type ScheduleStore,
  type SharedRateLimiter,
  type SharedStreamBounds,
  type StreamStore,
  SwitchboardError,
  type TaskError,
  type TaskListQuery,
  type TaskPage,
  type TaskProgress,
  type TaskRecord,
  type TokenBucketOptions,
} from '@switchboard/core';
import { defineScripts, type ScriptName } from './lua-scripts.js';
import {
  decodeRecord,
  decodeRecords,
  encodeRecord,
  one,
  RECORD_FIELDS,
  toJson,
} from './record-codec.js';
import { defineAgentScripts, RedisAgentDirectory, redisClusterChannel } from './redis-agents.js';
import { outage } from './redis-client.js';
import { LeaseAnswers } from './redis-lease-answers.js';
import { RedisLink } from './redis-link.js';
import { type RedisBackendOptions, resolveRedisOptions } from './redis-options.js';
import { defineRateScript, RedisRateLimiter } from './redis-rate-limiter.js';
import { defineScheduleScripts, RedisScheduleStore } from './redis-schedules.js';
import { defineStreamScripts, RedisStreamStore } from './redis-streams.js';
import { type ErrorSubject, scriptError } from './script-errors.js';

// One array argument: ioredis flattens it, where spreading a large batch's arguments into the
// call would overflow the stack.
type Script = (args: readonly string[]) => Promise<unknown>;
type Reply = readonly (string | null)[];

const EXPIRED_JSON = JSON.stringify({ message: 'lease expired', code: 'expired', retryable: true });
// One lease call takes at most this many tasks, so its tokens stay a modest argument list.
const MAX_LEASE_BATCH = 1000;

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
  /** The schedules of every process on this server and prefix; each tick is claimed once. */
  readonly schedules: ScheduleStore;

  private readonly link: RedisLink;
  private readonly base: readonly string[];
  private readonly answers: LeaseAnswers;

  constructor(options: RedisBackendOptions = {}) {
    const o = resolveRedisOptions(options);
    this.link = new RedisLink(o, (client) => {
      defineScripts(client);
      defineAgentScripts(client);
      defineRateScript(client);
      defineScheduleScripts(client);
      defineStreamScripts(client);
    });
    this.agents = new RedisAgentDirectory(this.link, o.keyPrefix);
    this.schedules = new RedisScheduleStore(this.link, o.keyPrefix);
    this.cluster = redisClusterChannel(this.link);
    this.base = [o.keyPrefix, '', String(o.maxRetained), String(o.retainMs)];
    this.answers = new LeaseAnswers({
      script: (name, now, args, subject) => this.script(name, now, args, subject),
      get: (id) => this.get(id),
      ready: () => this.link.client(),
    });
    if (o.leaseSweepMs > 0)
      this.link.sweepEvery(o.leaseSweepMs, () => this.expireLeases(Date.now()));
  }

  /** Task streams in Redis streams, read the same through every process (see RedisStreamStore). */
  streams(bounds: SharedStreamBounds): StreamStore {
    return new RedisStreamStore(this.link, this.base[0] as string, bounds);
  }

  async open(): Promise<void> {
    await this.link.open();
  }

  async close(): Promise<void> {
    await this.link.close();
  }

  /**
   * `enqueue` for records without idempotency keys (see `Backend.enqueueNew`): the same one
   * script, atomic, so a known id leaves nothing of the batch behind.
   */
  async enqueueNew(records: readonly TaskRecord[]): Promise<void> {
    for (let i = 0; i < records.length; i++) {
      const t = records[i] as TaskRecord;
      if (t.idempotencyKey !== undefined) {
        throw new SwitchboardError(
          'invalid_request',
          `[redis] enqueueNew takes no idempotency key (task ${t.id}): use enqueue`,
          { details: { index: i, id: t.id } },
        );
      }
    }
    await this.enqueue(records);
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
      const made = String(t.createdAt);
      args.push(t.id, key ?? '', t.capability, t.priority, at, String(t.updatedAt), d, s, made);
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
      this.answers.held.hold(t.id, t.leaseToken as string, reply);
      out.push(t);
    }
    return out;
  }

  /**
   * Completes a leased task. When the server ran a complete but its reply was lost (the call
   * rejected `unavailable`), the caller's retry with the same token returns the completed
   * task instead of `conflict`; any other complete of a completed task is a `conflict`.
   */
  complete(id: string, leaseToken: string, result: unknown, now: number): Promise<TaskRecord> {
    return this.answers.complete(id, leaseToken, result, now);
  }

  /** Completes many leases in one script call, each as `complete` would (see LeaseAnswers). */
  completeMany(
    completions: readonly Completion[],
    now: number,
  ): Promise<(TaskRecord | SwitchboardError)[]> {
    return this.answers.completeMany(completions, now);
  }

  /** Ends a leased attempt; a retry after a lost reply is recognized as `complete`'s is. */
  fail(
    id: string,
    leaseToken: string,
    error: TaskError,
    outcome: FailOutcome,
    now: number,
  ): Promise<TaskRecord> {
    return this.answers.fail(id, leaseToken, error, outcome, now);
  }

  async extend(id: string, leaseToken: string, ms: number, now: number): Promise<TaskRecord> {
    if (!(ms > 0) || !Number.isFinite(ms)) {
      throw new SwitchboardError('invalid_request', `[redis] extend ms must be > 0`, {
        details: { ms },
      });
    }
    return one(await this.script<Reply>('sbExtend', now, [id, leaseToken, String(ms)], id));
  }

  /** Renews the lease and stores the progress in one script, so a stale token changes nothing. */
  async progress(
    id: string,
    leaseToken: string,
    progress: TaskProgress | undefined,
    ms: number | undefined,
    now: number,
  ): Promise<TaskRecord> {
    if (ms !== undefined && (!(ms > 0) || !Number.isFinite(ms))) {
      throw new SwitchboardError('invalid_request', `[redis] progress ms must be > 0`, {
        details: { ms },
      });
    }
    const json = progress === undefined ? '' : (toJson(progress, 'progress') ?? '');
    const args = [id, leaseToken, ms === undefined ? '' : String(ms), json];
    return one(await this.script<Reply>('sbProgress', now, args, id));
  }

  async release(
    leases: readonly { id: string; leaseToken: string }[],
    error: TaskError,
    now: number,
  ): Promise<TaskRecord[]> {
    const args = [toJson(error, 'release error') ?? '{}'];
    for (const { id, leaseToken } of leases) {
      this.answers.held.drop(id);
      args.push(id, leaseToken);
    }
    return decodeRecords(await this.script<Reply[]>('sbRelease', now, args));
  }

  /** Names the remote agent in each lease's state, so any process finds it (see agentLeases). */
  async handOff(
    leases: readonly { id: string; leaseToken: string }[],
    agentId: string,
    now: number,
  ): Promise<void> {
    const args = [agentId];
    for (const { id, leaseToken } of leases) args.push(id, leaseToken);
    await this.script('sbHandOff', now, args);
  }

  /** The live leases in the name of `agentId`: handed off to it, or taken under it. */
  async agentLeases(agentId: string): Promise<TaskRecord[]> {
    return decodeRecords(await this.script<Reply[]>('sbAgentLeases', 0, [agentId]));
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

  /**
   * {@link Backend.listTasks}: one script reads the sorted set of ids by `createdAt` from the
   * cursor on, O(log n) to find the cursor and then each entry looked at; it looks at no more
   * than 10,000 entries a call, so a filter that matches few tasks may answer a short page with
   * a cursor to go on from. An `idempotencyKey` is one lookup.
   */
  async listTasks(query: TaskListQuery): Promise<TaskPage> {
    const after = checkTaskListQuery(query, '[redis] ');
    const args = [
      String(query.limit),
      after === undefined ? '' : String(after.createdAt),
      after === undefined ? '' : after.id,
      query.status ?? '',
      query.capability ?? '',
      query.idempotencyKey ?? '',
    ];
    const [at, id, replies] = await this.script<[string, string, Reply[]]>('sbList', 0, args);
    const tasks = decodeRecords(replies);
    if (at === '') return { tasks };
    return { tasks, nextCursor: encodeTaskCursor({ createdAt: Number(at), id }) };
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
  /** Token buckets every process on this server and prefix draws from (see RedisRateLimiter). */
  sharedRateLimiter(name: string, options: TokenBucketOptions): SharedRateLimiter {
    return new RedisRateLimiter(this.link, this.base[0] as string, name, options);
  }

  onAvailable(listener: (capability: string) => void): () => void {
    return this.link.listen(listener);
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
