import {
  type Completion,
  type FailOutcome,
  SwitchboardError,
  type TaskError,
  type TaskRecord,
} from '@switchboard/core';
import { CallBatcher } from './call-batcher.js';
import { HeldLeases } from './held-leases.js';
import type { ScriptName } from './lua-scripts.js';
import { completed, one, toJson, withResult } from './record-codec.js';
import { type ErrorSubject, errorOf } from './script-errors.js';

type Reply = readonly (string | null)[];

// Leases whose complete/fail answer was lost, kept so the caller's retry can be recognized.
const MAX_UNCERTAIN = 10_000;
// Completes gathered into one script call at most.
const MAX_COMPLETE_BATCH = 256;
// Leased records kept for their complete (see HeldLeases) at most.
const MAX_HELD = 10_000;

/** What {@link LeaseAnswers} needs of the backend: its script runner and record read. */
export interface LeaseAnswerDeps {
  script<T>(
    name: ScriptName,
    now: number,
    args: readonly string[],
    subject?: ErrorSubject,
  ): Promise<T>;
  get(id: string): Promise<TaskRecord | undefined>;
  /** Resolves once the command connection is up (rejects `unavailable` otherwise). */
  ready(): Promise<unknown>;
}

/**
 * The answers to a lease of the Redis backend: complete (one at a time, gathered into one
 * script call per tick, or many at once), and fail. It keeps the records this process
 * leased (a complete of one reads a field, not the record) and the leases whose answer was
 * lost mid-outage, so that the caller's retry with the same token returns the completed
 * task instead of `conflict`.
 */
export class LeaseAnswers {
  /** Leased records kept for their complete. */
  readonly held = new HeldLeases(MAX_HELD);
  /** id → token of leases whose complete or fail may have run though the reply was lost. */
  private readonly uncertain = new Map<string, string>();
  private readonly completes: CallBatcher<string[], Reply | string>;
  private readonly deps: LeaseAnswerDeps;

  constructor(deps: LeaseAnswerDeps) {
    this.deps = deps;
    this.completes = new CallBatcher(
      (items) => deps.script<(Reply | string)[]>('sbComplete', 0, items.flat()),
      MAX_COMPLETE_BATCH,
    );
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
      const replies = this.deps.script<(Reply | string)[]>('sbComplete', 0, args);
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
    if (sent.length === 0) await this.deps.ready();
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
      one(await this.deps.script<Reply>('sbFail', now, args, id)),
    );
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
          const t = await this.deps.get(id);
          if (t !== undefined) return t;
        }
      }
      throw err;
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
