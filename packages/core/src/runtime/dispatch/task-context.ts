import type { TaskContext } from '../../model/agent.js';
import type { Priority } from '../../model/priority.js';
import type { InFlight } from '../pool/pool-member.js';
import { AttemptReporter, type ProgressRoles } from '../streams/progress-report.js';
import type { SubmitInput } from '../submit/task-input.js';
import type { TaskHandle } from '../submit/task-tracker.js';

const NO_METADATA: Readonly<Record<string, unknown>> = Object.freeze({});

/** What a {@link RunContext} reaches beyond its lease: child submits and progress reports. */
export interface ContextRuntime {
  submit(input: SubmitInput): Promise<TaskHandle>;
  readonly reports: ProgressRoles;
}

/**
 * What a handler run by Switchboard receives: the {@link TaskContext}, plus a way to submit
 * child tasks (a coordinator splitting its task), and the ids of a consolidated batch.
 */
export interface SwitchboardTaskContext extends TaskContext {
  /** Submits a child task; call it as a method (`ctx.spawn(...)`). */
  spawn<I = unknown, O = unknown>(input: SubmitInput<I>): Promise<TaskHandle<O>>;
  /** Submits a child task and awaits its result. */
  run<O = unknown, I = unknown>(input: SubmitInput<I>): Promise<O>;
  /** For a consolidated call: the ids of the tasks, in the order of the payload array. */
  readonly batch?: readonly string[];
}

/**
 * The context of one attempt. It holds only the lease and the agent: its fields are read
 * through from the lease on demand, so making one costs a small object per dispatch. Its
 * `signal` is made on first read, because creating an `AbortSignal` costs more than the rest
 * of a dispatch and most handlers never read it (see bench/RESULTS.md, Figures quoted in
 * code comments before).
 */
export class RunContext implements SwitchboardTaskContext {
  readonly agentId: string;
  // Set only when present: the optional fields of the contract are absent, not `undefined`.
  declare readonly sessionKey?: string;
  declare readonly batch?: readonly string[];
  readonly #entry: InFlight;
  readonly #runtime: ContextRuntime;
  #reporter: AttemptReporter | undefined;

  constructor(
    entry: InFlight,
    agentId: string,
    runtime: ContextRuntime,
    batch?: readonly string[],
  ) {
    this.#entry = entry;
    this.#runtime = runtime;
    this.agentId = agentId;
    const sessionKey = entry.task.sessionKey;
    if (sessionKey !== undefined) (this as { sessionKey?: string }).sessionKey = sessionKey;
    if (batch !== undefined) (this as { batch?: readonly string[] }).batch = batch;
  }

  get taskId(): string {
    return this.#entry.task.id;
  }

  get capability(): string {
    return this.#entry.task.capability;
  }

  /** The attempt number as leased (a backend may update its record afterwards). */
  get attempt(): number {
    return this.#entry.attempt;
  }

  get priority(): Priority {
    return this.#entry.task.priority;
  }

  /** The W3C trace context of this attempt: its span's with a telemetry, else the task's. */
  get traceparent(): string | undefined {
    const entry = this.#entry;
    return entry.span?.traceparent ?? entry.task.traceparent;
  }

  /** When this attempt's lease expires (a renewed lease moves it). */
  get deadline(): number {
    return this.#entry.expiresAt;
  }

  get metadata(): Readonly<Record<string, unknown>> {
    return this.#entry.task.metadata ?? NO_METADATA;
  }

  get signal(): AbortSignal {
    this.#entry.controller ??= new AbortController();
    return this.#entry.controller.signal;
  }

  spawn<I = unknown, O = unknown>(input: SubmitInput<I>): Promise<TaskHandle<O>> {
    return this.#runtime.submit(input) as Promise<TaskHandle<O>>;
  }

  /** For a consolidated call, the progress and the chunks go to the batch's first task. */
  progress(value: unknown): void {
    this.#reporter ??= new AttemptReporter(this.#runtime.reports, this.#entry);
    this.#reporter.progress(value);
  }

  stream(chunk: unknown): void {
    this.#reporter ??= new AttemptReporter(this.#runtime.reports, this.#entry);
    this.#reporter.stream(chunk);
  }

  /** Settles once the progress reported is stored; `undefined` when nothing waits to be. */
  reported(): Promise<void> | undefined {
    return this.#reporter?.flushed();
  }

  async run<O = unknown, I = unknown>(input: SubmitInput<I>): Promise<O> {
    const handle = await this.spawn<I, O>(input);
    return handle.result;
  }
}
