/** The `weighted` load balancer: smooth weighted round robin. */
export {
  WEIGHTED,
  type WeightedOptions,
  weighted,
} from './weighted.js';
