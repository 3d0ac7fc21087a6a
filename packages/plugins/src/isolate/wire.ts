/*
 * The messages between an isolated agent's host (the Switchboard's side) and its thread or
 * process. They are structured-cloned: by postMessage for a thread, by Node's `advanced` IPC
 * serialization for a process. Types only, so that the child's code (child-main.ts, sent as
 * source text) may use them without importing anything at run time.
 */

/** An error as it crosses the channel: what `taskError` and a reader of logs need. */
export interface WireError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  readonly code?: string;
  readonly retryable?: boolean;
}

/** What a child is told once it runs: which agent to load and how often to beat. */
export interface Setup {
  readonly t: 'setup';
  /** The agent module's file URL. */
  readonly module: string;
  /** The module's export holding the agent. */
  readonly exportName: string;
  readonly agentId: string;
  readonly name: string;
  readonly config: unknown;
  readonly beatMs: number;
}

/** A task's context as it crosses: the `TaskContext` without its signal and agent id. */
export interface WireContext {
  readonly taskId: string;
  readonly capability: string;
  readonly attempt: number;
  readonly priority: string;
  readonly deadline?: number;
  readonly sessionKey?: string;
  /** The W3C trace context of the attempt, for the handler's own spans. */
  readonly traceparent?: string;
  readonly metadata: Readonly<Record<string, unknown>>;
}

/**
 * What a running task's handler asks of the host through its context, answered with an
 * `answer` of the same `call`: submit a task (`spawn`, answered with its id and whether it
 * was created), the result of a task it submitted (`result`, `ref` being the spawn's call),
 * or its cancellation (`cancel`).
 */
export type Ask =
  | { readonly op: 'spawn'; readonly input: Record<string, unknown> }
  | { readonly op: 'result'; readonly ref: number }
  | { readonly op: 'cancel'; readonly ref: number };

/** From the host to the child. */
export type ToChild =
  | Setup
  | { readonly t: 'run'; readonly id: number; readonly payload: unknown; readonly ctx: WireContext }
  | { readonly t: 'abort'; readonly id: number; readonly reason: string }
  | { readonly t: 'health'; readonly id: number }
  | { readonly t: 'answer'; readonly call: number; readonly ok: true; readonly value: unknown }
  | { readonly t: 'answer'; readonly call: number; readonly ok: false; readonly error: WireError }
  | { readonly t: 'stop' };

/** From the child to the host. */
export type FromChild =
  | { readonly t: 'beat'; readonly rss: number }
  | { readonly t: 'ready' }
  | { readonly t: 'start-failed'; readonly error: WireError }
  | { readonly t: 'done'; readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly t: 'done'; readonly id: number; readonly ok: false; readonly error: WireError }
  | { readonly t: 'health'; readonly id: number; readonly report: unknown }
  | {
      readonly t: 'report';
      readonly id: number;
      readonly kind: 'progress' | 'stream';
      readonly value: unknown;
    }
  | ({ readonly t: 'ask'; readonly id: number; readonly call: number } & Ask)
  | { readonly t: 'fail'; readonly error: WireError; readonly reason: 'crashed' | 'hung' }
  | { readonly t: 'crash'; readonly error: WireError }
  | { readonly t: 'stopped'; readonly error?: WireError };
