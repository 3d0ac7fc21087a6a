/**
 * The strategies that ship with Switchboard: load balancers, recovery strategies and
 * serializers. Each is also its own subpath export (`@switchboard/plugins/round-robin`…), so
 * an application bundles only what it imports; {@link builtinPlugin} registers them all by
 * name.
 */

export {
  CAPABILITY_AWARE,
  type CandidateScorer,
  type CapabilityAwareOptions,
  capabilityAware,
  versionScore,
} from './balancers/capability-aware/index.js';
export {
  LEAST_BUSY,
  type LeastBusyOptions,
  leastBusy,
  pickLeastBusy,
} from './balancers/least-busy/index.js';
export { P2C, type P2cOptions, p2c } from './balancers/p2c/index.js';
export { RANDOM, type RandomOptions, random } from './balancers/random/index.js';
export { ROUND_ROBIN, type RoundRobinOptions, roundRobin } from './balancers/round-robin/index.js';
export {
  SESSION_AFFINITY,
  type SessionAffinityBalancer,
  type SessionAffinityOptions,
  sessionAffinity,
} from './balancers/session-affinity/index.js';
export { WEIGHTED, type WeightedOptions, weighted } from './balancers/weighted/index.js';
export { builtinPlugin } from './builtin-plugin.js';
export {
  type BreakerState,
  CIRCUIT_BREAKER,
  type CircuitBreaker,
  type CircuitBreakerOptions,
  circuitBreaker,
} from './recovery/circuit-breaker/index.js';
export {
  DEGRADED_MODE,
  type DegradedModeOptions,
  degradedMode,
} from './recovery/degraded-mode/index.js';
export { FAILOVER, type FailoverOptions, failover } from './recovery/failover/index.js';
export { REPLACEMENT, type ReplacementOptions, replacement } from './recovery/replacement/index.js';
export { RESTART, type RestartOptions, restart } from './recovery/restart/index.js';
export {
  CBOR_SERIALIZER,
  type CborOptions,
  type CborSerializer,
  cbor,
  cborSerializer,
} from './serializers/cbor/index.js';
export { JSON_SERIALIZER, type JsonOptions, json } from './serializers/json/index.js';
export type { CompressionSpec } from './shared/index.js';
