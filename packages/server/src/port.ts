import type {
  AgentView,
  CapabilityInput,
  FairnessKeySettings,
  FairnessKeyView,
  FairnessView,
  ScheduleSpecInput,
  ScheduleView,
  Stats,
  StreamItem,
  TaskLease,
  TaskRecord,
} from '@switchboard/core';
import type { StreamEvent } from './sse.js';

type MaybePromise<T> = T | Promise<T>;

/** A task as the server hands it to the Switchboard: a validated submit body and its submitter. */
export interface ApiSubmit {
  capability: string;
  payload?: unknown;
  priority?: 'critical' | 'high' | 'normal' | 'low';
  timeoutMs?: number;
  maxAttempts?: number;
  idempotencyKey?: string;
  sessionKey?: string;
  fairnessKey?: string;
  delayMs?: number;
  metadata?: Record<string, unknown>;
  traceparent?: string;
  tracestate?: string;
  submitter?: string;
}

/**
 * What the HTTP app needs of a Switchboard: the remote-agent and task operations of
 * `createSwitchboard()`. Declared structurally so that the app depends on behaviour, not on
 * one class, and so that a test can see at a glance what the server calls.
 */
export interface SwitchboardApi {
  readonly events: {
    subscribe(pattern: string, handler: (event: StreamEvent) => void): () => void;
    publish(topic: string, data?: object): unknown;
  };
  submit(input: ApiSubmit): Promise<{ readonly id: string; readonly created: boolean }>;
  submitMany(
    inputs: readonly ApiSubmit[],
  ): Promise<readonly { readonly id: string; readonly created: boolean }[]>;
  get(id: string): MaybePromise<TaskRecord | undefined>;
  /** A page of tasks, newest first (see `Switchboard.listTasks`). */
  listTasks(query: {
    status?: TaskRecord['status'];
    capability?: string;
    idempotencyKey?: string;
    limit: number;
    cursor?: string;
  }): Promise<{ readonly tasks: readonly TaskRecord[]; readonly nextCursor?: string }>;
  cancel(id: string): Promise<TaskRecord>;
  waitFor(id: string, waitMs: number): Promise<TaskRecord>;
  registerRemote(input: {
    /** The agent's id when left out. */
    name?: string;
    role?: 'worker' | 'coordinator' | 'monitor' | 'gateway';
    capabilities: readonly CapabilityInput[];
    maxConcurrency?: number;
    metadata?: Record<string, unknown>;
  }): MaybePromise<AgentView>;
  heartbeat(agentId: string, metrics?: Record<string, number>): MaybePromise<AgentView>;
  lease(
    agentId: string,
    options: { max: number; waitMs: number; signal?: AbortSignal },
  ): Promise<TaskLease[]>;
  complete(taskId: string, leaseToken: string, result: unknown): Promise<TaskRecord>;
  fail(
    taskId: string,
    leaseToken: string,
    error: { message: string; retryable?: boolean },
  ): Promise<TaskRecord>;
  extend(taskId: string, leaseToken: string, ms: number): Promise<TaskLease | TaskRecord>;
  /** A lease holder's report: progress, chunks of partial output, a renewed lease. */
  progress(
    taskId: string,
    leaseToken: string,
    report: { value?: unknown; chunks?: readonly unknown[]; extendMs?: number },
  ): Promise<{ readonly lease: TaskLease; readonly lastSeq?: number }>;
  /** A task's stream of partial output, followed until the task is terminal. */
  stream(
    taskId: string,
    options: { after?: number; signal?: AbortSignal },
  ): AsyncIterable<StreamItem>;
  leave(agentId: string): MaybePromise<unknown>;
  listAgents(): MaybePromise<readonly AgentView[]>;
  getAgent(id: string): MaybePromise<AgentView | undefined>;
  deadLetters(): MaybePromise<readonly TaskRecord[]>;
  replay(id: string): Promise<{ readonly id: string }>;
  deleteDeadLetter(id: string): MaybePromise<unknown>;
  stats(): MaybePromise<Stats>;
  /** The schedules (see `Switchboard.schedules`). */
  readonly schedules: {
    upsert(spec: ScheduleSpecInput): Promise<ScheduleView>;
    remove(id: string): Promise<void>;
    pause(id: string): Promise<ScheduleView>;
    resume(id: string): Promise<ScheduleView>;
    list(): Promise<ScheduleView[]>;
    get(id: string): Promise<ScheduleView>;
  };
  /** The weights and caps of fairness keys (see `Switchboard.fairness`). */
  readonly fairness: {
    set(key: string, settings: FairnessKeySettings): MaybePromise<void>;
    get(key: string): MaybePromise<FairnessKeyView>;
    describe(): Promise<FairnessView>;
  };
}

/** @deprecated The old name of {@link SwitchboardApi}, kept for one minor version. */
export type ServerEngine = SwitchboardApi;

/** @deprecated The old name of {@link ApiSubmit}, kept for one minor version. */
export type EngineSubmit = ApiSubmit;
