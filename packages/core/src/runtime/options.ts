import type { AgentDefinition, AgentSpec } from '../agent/definition.js';
import type { Backend } from '../contracts/backend.js';
import type { LoadBalancer } from '../contracts/load-balancer.js';
import type { Logger } from '../contracts/logger.js';
import type { RecoveryStrategy } from '../contracts/recovery.js';
import type { Telemetry } from '../contracts/telemetry.js';
import { SwitchboardError } from '../errors.js';
import type { SwitchboardPlugin } from '../plugin/define-plugin.js';
import type { StrategySpec } from '../plugin/strategy-registry.js';
import type { FairnessOptions } from './dispatch/fairness.js';
import type { BackoffOptions } from './leases/backoff.js';
import type { PoolEntryOptions } from './pool/agent-pool.js';
import type { StreamOptions } from './streams/task-streams.js';
import type {
  IdempotencyOptions,
  RateLimiterFactory,
  RateLimitOptions,
} from './submit/submit-gate.js';
import type { AssignmentPolicy } from './submit/task-input.js';

/** An in-process agent as options list it: a definition, or one with pool settings. */
export type AgentEntry =
  // biome-ignore lint/suspicious/noExplicitAny: definitions of any payload type are accepted.
  | AgentDefinition<any, any>
  // biome-ignore lint/suspicious/noExplicitAny: as above, for plain specs.
  | AgentSpec<any, any>
  // biome-ignore lint/suspicious/noExplicitAny: as above.
  | ({ readonly definition: AgentDefinition<any, any> | AgentSpec<any, any> } & PoolEntryOptions);

/** Options of {@link createSwitchboard}. Every one is optional. */
export interface SwitchboardOptions {
  /** `'memory'` (the default), a backend object, a registered name, or `{ name, options }`. */
  readonly backend?: StrategySpec<Backend>;
  /** `'round-robin'` unless given. */
  readonly loadBalancer?: StrategySpec<LoadBalancer>;
  /** `'restart'` (restart with backoff) unless given. */
  readonly recovery?: StrategySpec<RecoveryStrategy>;
  readonly plugins?: readonly SwitchboardPlugin[];
  /** In-process agents, started by `start()`. */
  readonly agents?: readonly AgentEntry[];
  /** The assignment policy per capability (`queued` unless listed). */
  readonly policies?: Readonly<Record<string, AssignmentPolicy>>;
  /**
   * Weights and concurrency caps of the fairness keys tasks carry (docs/fairness.md); every
   * key has weight 1 and no cap unless given. `sb.fairness` changes them at run time.
   */
  readonly fairness?: FairnessOptions;
  /** Heartbeat interval handed to remote agents (default 5 000 ms). */
  readonly heartbeatIntervalMs?: number;
  /** Silence after which a remote agent is failed (default 15 000 ms). */
  readonly heartbeatTimeoutMs?: number;
  /** Backoff between attempts of a failed task. */
  readonly retry?: Partial<BackoffOptions>;
  readonly rateLimits?: RateLimitOptions;
  /**
   * Makes the per-submitter and per-capability limiters of `rateLimits` given as bucket
   * options (limiter objects are used as given). Default: core's token bucket
   * (`createTokenBucket`). Core never imports a native implementation; pass one in here.
   *
   * @example
   * ```ts
   * import { createRateLimiter } from '@switchboard/native'
   * const sb = createSwitchboard({
   *   rateLimits: { perSubmitter: { capacity: 100, refillPerSec: 50 } },
   *   // Submits are checked one at a time: the factory picks the faster one for that.
   *   createRateLimiter: (options) => createRateLimiter(options, { workload: 'single' }),
   * })
   * ```
   */
  readonly createRateLimiter?: RateLimiterFactory;
  readonly idempotency?: IdempotencyOptions;
  /** Submits whose payload serializes (JSON) to more bytes fail with `payload_too_large`. */
  readonly maxPayloadBytes?: number;
  /** A task's `timeoutMs` when its submit gives none (default 30 000). */
  readonly defaultTimeoutMs?: number;
  /** A task's `maxAttempts` when its submit gives none (default 3). */
  readonly defaultMaxAttempts?: number;
  /** Failures of a definition within this window count as recent (default 60 000 ms). */
  readonly failureWindowMs?: number;
  /** Grace before an agent whose every slot hangs past its timeout is failed (default 1 000). */
  readonly hungGraceMs?: number;
  /**
   * Fail an agent (reason `error_rate`) whose moving error rate of task outcomes passes
   * `threshold` (0..1) once it has `minSamples` outcomes (default 10). Off unless given.
   */
  readonly errorRate?: { readonly threshold: number; readonly minSamples?: number };
  /**
   * Bounds of the streams of partial output (`ctx.stream`), kept in this process's memory
   * (or in the backend, when it keeps streams: Redis): chunks and bytes per task, the largest
   * chunk, streams and bytes in all, and how long a stream is kept after its last chunk
   * (docs/progress.md).
   */
  readonly streams?: StreamOptions;
  /** The health monitor's sweep interval (default 100 ms). */
  readonly healthSweepIntervalMs?: number;
  /** The clock, epoch ms (tests). */
  readonly now?: () => number;
  /** The randomness of backoff jitter, 0..1 (tests). */
  readonly random?: () => number;
  /**
   * Errors with no caller to report to (a backend failing in the background, e.g. a lease
   * sweep during a Redis outage; the work is retried). Default: the `logger`'s `error` when
   * one is given, else `console.error`.
   */
  readonly onError?: (error: unknown) => void;
  /**
   * Hears what an operator would want to know and no caller does: a journal recovered
   * (tasks restored, leases kept or ended), a backend connection lost and back. Plugins get
   * it as `ctx.logger`. Default: silent, so an embedded Switchboard prints nothing of these.
   */
  readonly logger?: Logger;
  /**
   * Tracing hooks, called at each step of a task (see `Telemetry`): `otelTelemetry()` of
   * `@switchboard/plugins/otel` makes OpenTelemetry spans. Off unless given; off, a step
   * costs one check.
   */
  readonly telemetry?: Telemetry;
}

/**
 * Options of {@link Switchboard.shutdown}. Nothing queued is leased once shutdown begins,
 * whatever they say: queued tasks stay queued (kept by a durable backend, dropped by the
 * memory one) and the summary counts them.
 */
export interface ShutdownOptions {
  /** Let the tasks in flight (leased to an agent) finish first (default `true`). */
  readonly drain?: boolean;
  /** The longest drain; what still holds a lease then is put back to the queue (default 30 000 ms). */
  readonly timeoutMs?: number;
}

/** `stats()`: the figures of docs/http.md's `GET /v1/stats`. */
export interface SwitchboardStats {
  agents: { total: number; busy: number; byState: Record<string, number> };
  queue: { depth: number; byPriority: Record<string, number> };
  tasks: { submitted: number; completed: number; failed: number; dead: number; cancelled: number };
  throughputPerSec: number;
  latencyMs: { p50: number; p99: number };
  /**
   * The fairness keys with the most tasks queued and leased, where the backend enforces
   * fairness (docs/fairness.md).
   */
  fairness?: {
    keys: { key: string; queued: number; leased: number; leasesPerSec?: number }[];
  };
}

/** The longest delay a timer takes: a longer one fires at once (Node, browsers). */
const MAX_TIMER_MS = 2_147_483_647;

/** Checks a positive duration option (a timer delay or a window), up to the longest timer. */
export function positive(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > MAX_TIMER_MS) {
    throw new SwitchboardError(
      'invalid_config',
      `${name} must be a number of ms > 0 and ≤ ${MAX_TIMER_MS}, got ${typeof v === 'string' ? JSON.stringify(v) : String(v)}`,
      { details: { field: name, value: v } },
    );
  }
  return v;
}
