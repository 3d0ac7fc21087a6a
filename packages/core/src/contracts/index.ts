/**
 * Every interface an extension implements, in one place: a plugin author's one stop. Core's
 * own parts implement them too (the memory backend, the built-in strategies, the runtime).
 */
export { type AgentDirectory, type AgentRecord, isAgentLive } from './agent-directory.js';
export type {
  Backend,
  Completion,
  EnqueueResult,
  FailOutcome,
  LeaseRequest,
  QueueStats,
  SharedRateLimiter,
} from './backend.js';
export type {
  AgentNotice,
  ClusterChannel,
  ClusterMessage,
  LeaseNotice,
} from './cluster-channel.js';
export {
  type BackendFairness,
  checkFairnessKeySettings,
  DEFAULT_FAIRNESS_POLICY,
  type FairnessKeyFigures,
  type FairnessKeySettings,
  type FairnessPolicy,
  MAX_FAIRNESS_WEIGHT,
} from './fairness.js';
export type { AgentCandidate, LoadBalancer, SelectContext } from './load-balancer.js';
export { type LogFields, type Logger, resolveLogger, silentLogger } from './logger.js';
export type { PriorityQueue, QueueHandle } from './priority-queue.js';
export type { RateDecision, RateLimiter, TokenBucketOptions } from './rate-limiter.js';
export type { AgentFailure, RecoveryAction, RecoveryStrategy } from './recovery.js';
export { assertMaxBytes, type DecodeOptions, type Serializer } from './serializer.js';
export type {
  SharedStreamBounds,
  StoredChunk,
  StreamRead,
  StreamStore,
} from './stream-store.js';
export type {
  CoordinatedTask,
  RunnerHandle,
  RunOptions,
  TaskRunner,
} from './task-runner.js';
export {
  resolveTelemetry,
  type TaskOutcome,
  type TaskSpan,
  type Telemetry,
  type WorkerTelemetry,
} from './telemetry.js';
