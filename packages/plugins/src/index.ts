/**
 * The strategies that ship with Switchboard: load balancers, recovery strategies and
 * serializers. Each is also its own subpath export (`@switchboard/plugins/round-robin`…), so
 * an application bundles only what it imports; {@link builtinPlugin} registers them all by
 * name.
 */
export { builtinPlugin } from './builtin-plugin.js';
export {
  CAPABILITY_AWARE,
  type CandidateScorer,
  type CapabilityAwareOptions,
  capabilityAware,
  versionScore,
} from './capability-aware/index.js';
export {
  CBOR_SERIALIZER,
  type CborOptions,
  type CborSerializer,
  cbor,
  cborSerializer,
} from './cbor/index.js';
export {
  type BreakerState,
  CIRCUIT_BREAKER,
  type CircuitBreaker,
  type CircuitBreakerOptions,
  circuitBreaker,
} from './circuit-breaker/index.js';
export { DEGRADED_MODE, type DegradedModeOptions, degradedMode } from './degraded-mode/index.js';
export { FAILOVER, type FailoverOptions, failover } from './failover/index.js';
export { JSON_SERIALIZER, type JsonOptions, json } from './json/index.js';
export { LEAST_BUSY, type LeastBusyOptions, leastBusy, pickLeastBusy } from './least-busy/index.js';
export { P2C, type P2cOptions, p2c } from './p2c/index.js';
export { RANDOM, type RandomOptions, random } from './random/index.js';
export { REPLACEMENT, type ReplacementOptions, replacement } from './replacement/index.js';
export { RESTART, type RestartOptions, restart } from './restart/index.js';
export { ROUND_ROBIN, type RoundRobinOptions, roundRobin } from './round-robin/index.js';
export {
  SESSION_AFFINITY,
  type SessionAffinityBalancer,
  type SessionAffinityOptions,
  sessionAffinity,
} from './session-affinity/index.js';
export type { CompressionSpec } from './shared/index.js';
export { WEIGHTED, type WeightedOptions, weighted } from './weighted/index.js';
