import { definePlugin, type SwitchboardPlugin } from '@switchboard/core';
import {
  type CapabilityAwareOptions,
  capabilityAware,
} from './balancers/capability-aware/index.js';
import { type LeastBusyOptions, leastBusy } from './balancers/least-busy/index.js';
import { type P2cOptions, p2c } from './balancers/p2c/index.js';
import { type RandomOptions, random } from './balancers/random/index.js';
import { type RoundRobinOptions, roundRobin } from './balancers/round-robin/index.js';
import {
  type SessionAffinityOptions,
  sessionAffinity,
} from './balancers/session-affinity/index.js';
import { type WeightedOptions, weighted } from './balancers/weighted/index.js';
import { type CircuitBreakerOptions, circuitBreaker } from './recovery/circuit-breaker/index.js';
import { type DegradedModeOptions, degradedMode } from './recovery/degraded-mode/index.js';
import { type FailoverOptions, failover } from './recovery/failover/index.js';
import { type ReplacementOptions, replacement } from './recovery/replacement/index.js';
import { type RestartOptions, restart } from './recovery/restart/index.js';
import { type CborOptions, cbor } from './serializers/cbor/index.js';
import { type JsonOptions, json } from './serializers/json/index.js';

/**
 * Registers every built-in strategy under its name: load balancers `round-robin`,
 * `least-busy`, `random`, `capability-aware`, `p2c`, `weighted`, `session-affinity`;
 * recovery `restart`, `replacement`, `failover`, `degraded-mode`, `circuit-breaker`;
 * serializers `json`, `cbor`. Options given by name (`{ name, options }`) reach the factory.
 *
 * @example
 * ```ts
 * import { createSwitchboard } from '@switchboard/core'
 * import { builtinPlugin } from '@switchboard/plugins'
 * const sb = createSwitchboard({
 *   plugins: [builtinPlugin],
 *   loadBalancer: 'least-busy',
 *   recovery: { name: 'restart', options: { maxRestarts: 5 } },
 * })
 * ```
 */
export const builtinPlugin: SwitchboardPlugin = definePlugin({
  name: 'switchboard-builtin',
  setup(ctx) {
    ctx.loadBalancer<RoundRobinOptions | undefined>('round-robin', roundRobin);
    ctx.loadBalancer<LeastBusyOptions | undefined>('least-busy', leastBusy);
    ctx.loadBalancer<RandomOptions | undefined>('random', random);
    ctx.loadBalancer<CapabilityAwareOptions | undefined>('capability-aware', capabilityAware);
    ctx.loadBalancer<P2cOptions | undefined>('p2c', p2c);
    ctx.loadBalancer<WeightedOptions | undefined>('weighted', weighted);
    ctx.loadBalancer<SessionAffinityOptions | undefined>('session-affinity', sessionAffinity);
    ctx.recovery<RestartOptions | undefined>('restart', restart);
    ctx.recovery<ReplacementOptions | undefined>('replacement', replacement);
    ctx.recovery<FailoverOptions | undefined>('failover', failover);
    ctx.recovery<DegradedModeOptions | undefined>('degraded-mode', degradedMode);
    ctx.recovery<CircuitBreakerOptions | undefined>('circuit-breaker', circuitBreaker);
    ctx.serializer<JsonOptions | undefined>('json', json);
    ctx.serializer<CborOptions | undefined>('cbor', cbor);
  },
});
