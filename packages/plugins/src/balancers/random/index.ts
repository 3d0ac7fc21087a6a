/** The `random` load balancer. */
export {
  RANDOM,
  type RandomOptions,
  random,
} from './random.js';
