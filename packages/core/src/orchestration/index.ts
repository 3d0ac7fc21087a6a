export {
  AgentPool,
  type PoolDefinition,
  type PoolEntryOptions,
} from './agent-pool.js';
export {
  type AutoscaleOptions,
  type AutoscalePolicy,
  Autoscaler,
  resolveAutoscale,
  type ScaleDecision,
  type ScaleReason,
} from './autoscaler.js';
export { type BackoffOptions, backoffDelay, DEFAULT_BACKOFF } from './backoff.js';
export { BackupCoordinator, type StandbyTarget } from './backup-coordinator.js';
export { type CanaryProgress, CanarySplit } from './canary-split.js';
export {
  FailoverManager,
  type FailoverManagerOptions,
  type FailoverRecord,
  type FailoverStats,
} from './failover-manager.js';
export type { PoolMember, SlotGate } from './pool-member.js';
export type { AgentView, LeaseOptions, RemoteAgentInput } from './remote-agents.js';
export {
  type CanaryOptions,
  RollingUpdate,
  type RollingUpdateHandle,
  type RollingUpdateOptions,
  type RollingUpdatePhase,
  type RollingUpdateProgress,
} from './rolling-update.js';
export type { ShutdownSummary } from './shutdown.js';
export type { IdempotencyOptions, RateLimiterFactory, RateLimitOptions } from './submit-gate.js';
export type {
  AgentEntry,
  ShutdownOptions,
  SwitchboardOptions,
  SwitchboardStats,
} from './switchboard-options.js';
export type { SwitchboardTaskContext } from './task-context.js';
export { ASSIGNMENT_POLICIES, type AssignmentPolicy, type SubmitInput } from './task-input.js';
export type { TaskCounters, TaskHandle } from './task-tracker.js';
