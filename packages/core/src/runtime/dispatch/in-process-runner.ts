import type { TaskSpan } from '../../contracts/telemetry.js';
import { isSwitchboardError, SwitchboardError, toError } from '../../errors.js';
import type { TaskError, TaskRecord } from '../../model/task.js';
import type { Engine } from '../engine.js';
import { taskError } from '../leases/lease-book.js';
import type { InFlight, PoolMember } from '../pool/pool-member.js';
import type { Runner } from '../roles.js';
import { type ContextRuntime, RunContext } from './task-context.js';

/** The roles the in-process runner uses, so that it can be built and tested with just these. */
export type RunnerRoles = Pick<
  Engine,
  | 'backend'
  | 'book'
  | 'dispatcher'
  | 'emit'
  | 'failures'
  | 'now'
  | 'onError'
  | 'streams'
  | 'submit'
  | 'telemetry'
>;

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as PromiseLike<unknown>).then === 'function'
  );
}

/** Ends a failed attempt's span once the backend decided: another attempt, or the dead letter. */
function endFailed(span: TaskSpan, failing: Promise<TaskRecord>, reason: TaskError): void {
  failing.then(
    (record) => span.end(record.status === 'dead' ? 'dead' : 'retry', reason),
    () => span.end('lost', reason),
  );
}

/**
 * Runs leased tasks on in-process agents: calls the definition's handler with a
 * {@link RunContext}, then reports the outcome. The handler is called directly (not through
 * `Agent.execute`) so that the abort signal is made only when read and the context can
 * submit child tasks; the agent's `working`/`ready` state is kept the same way.
 */
export class InProcessRunner implements Runner {
  readonly #engine: RunnerRoles;
  readonly #staged = new Map<PoolMember, InFlight[]>();
  readonly #runtime: ContextRuntime;

  constructor(engine: RunnerRoles) {
    this.#engine = engine;
    this.#runtime = { submit: (input) => engine.submit(input), reports: engine };
  }

  /** Runs one task (its slot is already counted in `member.running`). */
  run(member: PoolMember, entry: InFlight): void {
    const agent = member.agent;
    if (agent === undefined) return;
    this.#busy(member);
    const ctx = new RunContext(entry, member.id, this.#runtime);
    const telemetry = this.#engine.telemetry;
    let out: unknown;
    try {
      if (telemetry === undefined) out = agent.definition.handle(entry.task.payload, ctx);
      else {
        const span = telemetry.process(entry.task, member.id, entry.startedAt);
        entry.span = span;
        out = span.run(() => agent.definition.handle(entry.task.payload, ctx));
      }
    } catch (thrown) {
      this.#answer(member, entry, ctx, thrown, false);
      return;
    }
    if (isPromiseLike(out)) {
      out.then(
        (value) => this.#answer(member, entry, ctx, value, true),
        (thrown: unknown) => this.#answer(member, entry, ctx, thrown, false),
      );
    } else {
      this.#answer(member, entry, ctx, out, true);
    }
  }

  /** Settles an attempt once the progress it reported is stored (see AttemptReporter). */
  #answer(member: PoolMember, entry: InFlight, ctx: RunContext, value: unknown, ok: boolean): void {
    const reported = ctx.reported();
    if (reported === undefined) this.#settle(member, entry, value, ok);
    else void reported.then(() => this.#settle(member, entry, value, ok));
  }

  /** Keeps a task for the member's next consolidated call. */
  stage(member: PoolMember, entry: InFlight): void {
    const list = this.#staged.get(member);
    if (list === undefined) this.#staged.set(member, [entry]);
    else list.push(entry);
  }

  /**
   * Hands the staged tasks of a batching agent to its handler, `batchMax` per call: the
   * payloads as an array in, one result per task out (an `Error` in the array fails that
   * task alone).
   */
  flushBatch(member: PoolMember): void {
    const staged = this.#staged.get(member);
    this.#staged.delete(member);
    if (staged === undefined || member.agent === undefined) return;
    const handle = member.agent.definition.handle as (payload: unknown, ctx: unknown) => unknown;
    for (let i = 0; i < staged.length; i += member.batchMax) {
      const entries = staged.slice(i, i + member.batchMax);
      this.#busy(member);
      const ids = entries.map((e) => e.task.id);
      const telemetry = this.#engine.telemetry;
      if (telemetry !== undefined) {
        for (const e of entries) e.span = telemetry.process(e.task, member.id, e.startedAt);
      }
      const ctx = new RunContext(entries[0] as InFlight, member.id, this.#runtime, ids);
      const settleAll = (value: unknown, ok: boolean) => {
        if (ok && (!Array.isArray(value) || value.length !== entries.length)) {
          const error = new SwitchboardError(
            'internal',
            `agent "${member.name}" returned ${Array.isArray(value) ? value.length : 'no array of'} results for ${entries.length} batched tasks`,
            { retryable: false },
          );
          for (const entry of entries) this.#settle(member, entry, error, false);
          return;
        }
        entries.forEach((entry, k) => {
          const item = ok ? (value as unknown[])[k] : value;
          this.#settle(member, entry, item, ok && !(item instanceof Error));
        });
      };
      let out: unknown;
      try {
        out = handle(
          entries.map((e) => e.task.payload),
          ctx,
        );
      } catch (thrown) {
        settleAll(thrown, false);
        continue;
      }
      if (isPromiseLike(out)) {
        out.then(
          (value) => settleAll(value, true),
          (thrown: unknown) => settleAll(thrown, false),
        );
      } else settleAll(out, true);
    }
  }

  #busy(member: PoolMember): void {
    const agent = member.agent;
    if (agent !== undefined && agent.state === 'ready') agent.lifecycle.transition('working');
  }

  #settle(member: PoolMember, entry: InFlight, value: unknown, ok: boolean): void {
    const engine = this.#engine;
    member.settle(entry);
    const agent = member.agent;
    if (member.running === 0 && agent?.state === 'working') agent.lifecycle.transition('ready');
    const span = entry.span;
    if (!entry.abandoned && engine.book.current(entry)) {
      if (ok) {
        engine.book.complete(entry, value);
        span?.end('completed');
      } else {
        const error = toError(value);
        if (isSwitchboardError(error, 'agent_failed')) {
          // The handler says its agent is broken: the agent is failed, and this task goes
          // back to the queue with the others it held.
          span?.end('lost', taskError(error));
          void engine.failures.fail(member, 'crashed', error);
        } else {
          const reason = taskError(error);
          const failing = engine.book.fail(entry, reason);
          if (span !== undefined) endFailed(span, failing, reason);
          failing.catch((e: unknown) => {
            if (!isSwitchboardError(e, 'conflict')) engine.onError(e);
          });
        }
      }
    } else span?.end('lost');
    engine.dispatcher.freed(member);
  }
}
