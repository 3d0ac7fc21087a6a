/** The `degraded-mode` recovery strategy: shed low priority, lower concurrency. */
export {
  DEGRADED_MODE,
  type DegradedModeOptions,
  degradedMode,
} from './degraded-mode.js';
