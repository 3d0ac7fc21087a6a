/** The `least-busy` load balancer. */
export {
  LEAST_BUSY,
  type LeastBusyOptions,
  leastBusy,
  pickLeastBusy,
} from './least-busy.js';
