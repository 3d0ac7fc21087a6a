/** The `circuit-breaker` recovery strategy: a breaker per agent. */
export {
  type BreakerState,
  CIRCUIT_BREAKER,
  type CircuitBreaker,
  type CircuitBreakerOptions,
  circuitBreaker,
} from './circuit-breaker.js';
