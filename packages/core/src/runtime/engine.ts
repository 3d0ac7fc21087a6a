import type { Backend } from '../contracts/backend.js';
import type { LoadBalancer } from '../contracts/load-balancer.js';
import type { RecoveryStrategy } from '../contracts/recovery.js';
import type { EventBus } from '../events/event-bus.js';
import type { HealthMonitor } from '../health/health-monitor.js';
import type { ClusterAgents } from './cluster/cluster-agents.js';
import type { ClusterLink } from './cluster/cluster-link.js';
import type { TaskDistributor } from './dispatch/dispatcher.js';
import type { InProcessRunner } from './dispatch/in-process-runner.js';
import type { BackoffOptions } from './leases/backoff.js';
import type { LeaseBook } from './leases/lease-book.js';
import type { AgentFailures } from './pool/agent-failures.js';
import type { AgentPool } from './pool/agent-pool.js';
import type { RemoteAgents } from './remote/remote-agents.js';
import type { AssignmentPolicy, SubmitInput } from './submit/task-input.js';
import type { TaskHandle, TaskTracker } from './submit/task-tracker.js';

/**
 * The parts of one Switchboard, wired together by `createSwitchboard`. Each part holds this
 * object rather than importing the others, so that each stays testable and small.
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
  pool: AgentPool;
  book: LeaseBook;
  tracker: TaskTracker;
  distributor: TaskDistributor;
  runner: InProcessRunner;
  remotes: RemoteAgents;
  failures: AgentFailures;
  /** Set when the backend spans processes (it has a cluster channel): the link to the others. */
  link?: ClusterLink;
  /** Set when the backend also has an agent directory: the cluster's remote agents. */
  cluster?: ClusterAgents;
  /** False once shutdown has begun: timers are not re-armed, restarts not made. */
  running: boolean;
  /** Publishes an event when someone listens (building its data costs nothing otherwise). */
  emit(topic: string, data: () => object): void;
  /** True when an event of `topic` has a subscriber (hot paths test it before building one). */
  listens(topic: string): boolean;
  /** Reports an error that has no caller to go to (a backend failure in the background). */
  onError(error: unknown): void;
  /** Submits a child task on behalf of a running task (`ctx.spawn`). */
  submit(input: SubmitInput): Promise<TaskHandle>;
}
