/** The `round-robin` load balancer. */
export {
  ROUND_ROBIN,
  type RoundRobinOptions,
  roundRobin,
} from './round-robin.js';
