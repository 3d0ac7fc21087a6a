export {
  type FairnessKeyBody,
  type FairnessKeyViewBody,
  type FairnessViewBody,
  fairnessKeyBodySchema,
  fairnessKeyViewSchema,
  fairnessViewSchema,
} from '../protocol/schemas/fairness-schema.js';
export {
  Fairness,
  type FairnessKeyStats,
  type FairnessKeyView,
  type FairnessOptions,
  type FairnessView,
  resolveFairness,
} from './dispatch/fairness.js';
export type { SwitchboardTaskContext } from './dispatch/task-context.js';
export { type BackoffOptions, backoffDelay, DEFAULT_BACKOFF } from './leases/backoff.js';
export type { ShutdownSummary } from './lifecycle.js';
export type {
  AgentEntry,
  ShutdownOptions,
  SwitchboardOptions,
  SwitchboardStats,
} from './options.js';
export {
  AgentPool,
  type PoolDefinition,
  type PoolEntryOptions,
} from './pool/agent-pool.js';
export {
  type AutoscaleOptions,
  type AutoscalePolicy,
  Autoscaler,
  resolveAutoscale,
  type ScaleDecision,
  type ScaleReason,
} from './pool/autoscaler.js';
export { type CanaryProgress, CanarySplit } from './pool/canary-split.js';
export {
  FailoverManager,
  type FailoverManagerOptions,
  type FailoverRecord,
  type FailoverStats,
} from './pool/failover-manager.js';
export type { PoolMember, SlotGate } from './pool/pool-member.js';
export {
  type CanaryOptions,
  RollingUpdate,
  type RollingUpdateHandle,
  type RollingUpdateOptions,
  type RollingUpdatePhase,
  type RollingUpdateProgress,
} from './pool/rolling-update.js';
export { BackupCoordinator, StandbyReserve, type StandbyTarget } from './pool/standby-reserve.js';
export type { AgentView, LeaseOptions, RemoteAgentInput } from './remote/remote-agents.js';
export type { StreamItem, StreamReadOptions } from './streams/follow-stream.js';
export type { ProgressAnswer, ProgressReport } from './streams/progress-report.js';
export {
  DEFAULT_STREAM_BOUNDS,
  resolveStreamOptions,
  type StreamBounds,
  type StreamOptions,
} from './streams/task-streams.js';
export type {
  IdempotencyOptions,
  RateLimiterFactory,
  RateLimitOptions,
} from './submit/submit-gate.js';
export {
  ASSIGNMENT_POLICIES,
  type AssignmentPolicy,
  type SubmitInput,
} from './submit/task-input.js';
export type { TaskCounters, TaskHandle } from './submit/task-tracker.js';
