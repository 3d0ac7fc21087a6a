import type { Backend } from '../contracts/backend.js';
import type { LoadBalancer } from '../contracts/load-balancer.js';
import type { RecoveryStrategy } from '../contracts/recovery.js';
import type { Telemetry } from '../contracts/telemetry.js';
import type { EventBus } from '../events/event-bus.js';
import type { HealthMonitor } from '../health/health-monitor.js';
import type { BackoffOptions } from './leases/backoff.js';
import type {
  ClusterDirectory,
  Dispatch,
  Failures,
  Leases,
  Link,
  Pool,
  Remotes,
  Runner,
} from './roles.js';
import type { TaskStreams } from './streams/task-streams.js';
import type { AssignmentPolicy, SubmitInput } from './submit/task-input.js';
import type { TaskHandle, TaskTracker } from './submit/task-tracker.js';

/**
 * The parts of one Switchboard, wired together by `createEngine`. Each part is given this
 * object, typed by the roles it uses (see roles.ts), rather than importing the others, so
 * that each stays small and can be tested against fakes of its roles.
 */
export interface Engine {
  readonly backend: Backend;
  readonly events: EventBus;
  readonly now: () => number;
  readonly random: () => number;
  readonly balancer: LoadBalancer;
  readonly recovery: RecoveryStrategy;
  readonly monitor: HealthMonitor;
  readonly backoff: BackoffOptions;
  /** The policy configured per capability (absent: `queued`). */
  readonly policies: ReadonlyMap<string, AssignmentPolicy>;
  /** Per-task policies given at submit that act at dispatch (`delegated`, `consolidated`). */
  readonly taskPolicies: Map<string, AssignmentPolicy>;
  /** Heartbeat settings handed to remote agents. */
  readonly heartbeatIntervalMs: number;
  readonly heartbeatTimeoutMs: number;
  /** Failures of one definition within this window count as recent (restart limits). */
  readonly failureWindowMs: number;
  /** Grace after an attempt timed out before an agent whose every slot hangs is failed. */
  readonly hungGraceMs: number;
  /** The error-rate failure rule of every tracked agent, as HealthMonitor track options. */
  readonly errorRate: { errorRateThreshold?: number; minSamples?: number };
  readonly pool: Pool;
  readonly book: Leases;
  readonly tracker: TaskTracker;
  readonly dispatcher: Dispatch;
  readonly runner: Runner;
  readonly remotes: Remotes;
  readonly failures: Failures;
  /** The streams of partial output of the tasks running through this process. */
  readonly streams: TaskStreams;
  /** Set when the backend spans processes (it has a cluster channel): the link to the others. */
  readonly link?: Link;
  /** Set when the backend also has an agent directory: the cluster's remote agents. */
  readonly cluster?: ClusterDirectory;
  /** False once shutdown has begun: timers are not re-armed, restarts not made. */
  running: boolean;
  /** Publishes an event when someone listens (building its data costs nothing otherwise). */
  emit(topic: string, data: () => object): void;
  /** True when an event of `topic` has a subscriber (hot paths test it before building one). */
  listens(topic: string): boolean;
  /** Reports an error that has no caller to go to (a backend failure in the background). */
  onError(error: unknown): void;
  /** The tracing hooks, when configured: every caller tests for `undefined` first. */
  readonly telemetry?: Telemetry;
  /** Submits a child task on behalf of a running task (`ctx.spawn`). */
  submit(input: SubmitInput): Promise<TaskHandle>;
}
