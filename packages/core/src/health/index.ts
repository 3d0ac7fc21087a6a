export { BackupCoordinator, type StandbyTarget } from './backup-coordinator.js';
export { alphaFromHalfLife, Ewma, type EwmaOptions } from './ewma.js';
export {
  FailoverManager,
  type FailoverManagerOptions,
  type FailoverRecord,
  type FailoverStats,
} from './failover-manager.js';
export {
  type HealthFailure,
  type HealthFailureReason,
  HealthMonitor,
  type HealthMonitorOptions,
  type HealthStatus,
} from './health-monitor.js';
export type { TrackOptions } from './health-options.js';
export { LoopLag, type LoopLagOptions } from './loop-lag.js';
export type { AgentFailure, RecoveryAction, RecoveryStrategy } from './recovery.js';
export { type RestartWithBackoffOptions, restartWithBackoff } from './restart-default.js';
