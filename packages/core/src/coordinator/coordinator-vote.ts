import type { RunnerHandle, TaskRunner } from '../contracts/task-runner.js';
import { SwitchboardError, toError } from '../errors.js';
import type { Priority } from '../model/priority.js';
import { type Answer, type Compare, majority, VoteTally } from './consensus.js';
import { nodeError } from './coordinator-dag-types.js';
import type { NodeError } from './dag.js';
import { Deadline } from './deadline.js';

/** A vote: the same task sent to `agents` replicas, accepted once `quorum` of them agree. */
export interface ConsensusInput<T = unknown> {
  readonly capability: string;
  readonly payload?: unknown;
  /** How many replicas to submit (an integer ≥ 1). */
  readonly agents: number;
  /** How many agreeing answers accept one (1..agents); a strict majority unless given. */
  readonly quorum?: number;
  /** Whether two answers agree; deep equality of their JSON unless given. */
  readonly compare?: Compare<T>;
  /**
   * The time the whole vote may take, in ms: each replica's `timeoutMs` is at most the
   * time left, and a vote without a quorum by then fails with `timeout`.
   */
  readonly timeoutMs?: number;
  readonly priority?: Priority;
  readonly maxAttempts?: number;
  /** Merged into each replica's metadata (beside `consensusGroup` and `replica`). */
  readonly metadata?: Record<string, unknown>;
  /** Aborting it cancels every replica (`cancelled`). */
  readonly signal?: AbortSignal;
}

/** An accepted answer and how the vote went. */
export interface ConsensusResult<T = unknown> {
  /** The answer the quorum agreed on (the first one given of its group). */
  readonly value: T;
  /** How many replicas gave it (the quorum, as the vote stops once reached). */
  readonly votes: number;
  /** Every distinct answer received, most votes first. */
  readonly answers: readonly Answer<T>[];
  /** Replicas whose task failed, with their error. */
  readonly failures: readonly (NodeError & { readonly replica: number })[];
  /** The task id of each replica, by replica index. */
  readonly taskIds: readonly string[];
}

/**
 * Runs a vote on a {@link TaskRunner}: submits `agents` replicas at once, each tagged
 * `metadata: { consensusGroup, replica }`, counts their answers as they come, and settles as
 * soon as a quorum agrees (cancelling the replicas still running) or can no longer agree.
 *
 * Replicas land on distinct agents only as far as the load balancer spreads them: the
 * engine offers no way to target an agent, so distinct placement is best-effort (give the
 * agents `maxConcurrency: 1` to make it likely, or a balancer that reads `consensusGroup`).
 *
 * @throws SwitchboardError `invalid_request` for a bad `agents`/`quorum`, `task_failed`
 * without a quorum (`details.answers` lists each distinct answer and its count,
 * `details.failures` the failed replicas), `timeout`, `cancelled`.
 */
export function runConsensus<T>(
  runner: TaskRunner,
  input: ConsensusInput<T>,
  now: () => number,
): Promise<ConsensusResult<T>> {
  const quorum = input.quorum ?? majority(input.agents);
  const tally = new VoteTally<T>(input.agents, quorum, input.compare);
  const deadline = new Deadline(input.timeoutMs, now);
  const group = crypto.randomUUID();
  const failures: (NodeError & { replica: number })[] = [];
  const taskIds: string[] = [];
  const handles = new Map<number, RunnerHandle>();
  const submits: Promise<unknown>[] = [];
  let settled = false;
  let disarm = (): void => undefined;

  return new Promise<ConsensusResult<T>>((resolve, reject) => {
    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      disarm();
      // Every replica still out is cancelled before the caller hears the outcome, so that no
      // agent keeps working on a question already answered.
      void Promise.allSettled(submits)
        .then(() => Promise.allSettled([...handles.values()].map((h) => h.cancel())))
        .then(outcome);
    };
    const details = () => ({
      quorum,
      agents: input.agents,
      answers: tally.answers().map((a) => ({ value: a.value, count: a.count })),
      failures: [...failures],
      taskIds: [...taskIds],
    });
    const fail = (code: 'task_failed' | 'timeout' | 'cancelled', why: string) => {
      const error = new SwitchboardError(code, `consensus on ${input.capability}: ${why}`, {
        details: details(),
      });
      finish(() => reject(error));
    };
    const noQuorum = () => {
      const best = tally.answers()[0]?.count ?? 0;
      fail(
        'task_failed',
        `no quorum (${quorum} of ${input.agents} needed, best answer had ${best})`,
      );
    };
    const onVote = (replica: number, value: T) => {
      handles.delete(replica);
      if (settled) return;
      let accepted: Answer<T> | undefined;
      try {
        accepted = tally.vote(replica, value);
      } catch (error) {
        finish(() => reject(toError(error)));
        return;
      }
      if (accepted !== undefined) {
        const result: ConsensusResult<T> = {
          value: accepted.value,
          votes: accepted.count,
          answers: tally.answers(),
          failures: [...failures],
          taskIds: [...taskIds],
        };
        finish(() => resolve(result));
      } else if (tally.hopeless) noQuorum();
    };
    const onFail = (replica: number, error: unknown) => {
      handles.delete(replica);
      if (settled) return;
      failures.push({ replica, ...nodeError(toError(error)) });
      tally.abstain();
      if (tally.hopeless) noQuorum();
    };

    const onAbort = () => fail('cancelled', 'cancelled');
    input.signal?.addEventListener('abort', onAbort, { once: true });
    let disarmTimer = (): void => undefined;
    disarm = () => {
      disarmTimer();
      input.signal?.removeEventListener('abort', onAbort);
    };
    if (input.signal?.aborted) {
      onAbort();
      return;
    }
    disarmTimer = deadline.onExpire(() =>
      fail('timeout', `no quorum within ${input.timeoutMs} ms`),
    );
    if (settled) return;

    const timeoutMs = deadline.taskTimeout();
    const metadata = {
      ...input.metadata,
      consensusGroup: group,
      ...(deadline.at !== undefined && { deadline: deadline.at }),
    };
    for (let replica = 0; replica < input.agents; replica++) {
      let submitted: Promise<RunnerHandle>;
      try {
        submitted = runner.submit({
          capability: input.capability,
          ...(input.payload !== undefined && { payload: input.payload }),
          ...(input.priority !== undefined && { priority: input.priority }),
          ...(input.maxAttempts !== undefined && { maxAttempts: input.maxAttempts }),
          ...(timeoutMs !== undefined && { timeoutMs }),
          metadata: { ...metadata, replica },
        });
      } catch (error) {
        submitted = Promise.reject(error);
      }
      const tracked = submitted.then(
        (handle) => {
          taskIds[replica] = handle.id;
          handles.set(replica, handle);
          handle.result.then(
            (value) => onVote(replica, value as T),
            (error: unknown) => onFail(replica, error),
          );
        },
        (error: unknown) => onFail(replica, error),
      );
      submits.push(tracked);
    }
  });
}
