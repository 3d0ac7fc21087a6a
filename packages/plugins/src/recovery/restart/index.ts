/** The `restart` recovery strategy: OTP-style restarts with backoff and intensity. */
export {
  RESTART,
  type RestartOptions,
  restart,
} from './restart.js';
