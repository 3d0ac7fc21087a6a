/** The `p2c` load balancer: power of two choices on latency. */
export {
  P2C,
  type P2cOptions,
  p2c,
} from './p2c.js';
