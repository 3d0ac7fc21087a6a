export { alphaFromHalfLife, Ewma, type EwmaOptions } from './ewma.js';
export {
  type HealthFailure,
  type HealthFailureReason,
  HealthMonitor,
  type HealthMonitorOptions,
  type HealthStatus,
} from './health-monitor.js';
export type { TrackOptions } from './health-options.js';
export { LoopLag, type LoopLagOptions } from './loop-lag.js';
