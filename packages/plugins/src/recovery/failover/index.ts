/** The `failover` recovery strategy. */
export {
  FAILOVER,
  type FailoverOptions,
  failover,
} from './failover.js';
