import type { AgentFailure, RecoveryAction, RecoveryStrategy } from '@switchboard/core';
import { configError, describe, numberOption, readOptions } from '../../shared/index.js';
import { restart } from '../restart/index.js';
import { type RollingCount, rollingCount } from './rolling-count.js';

/** The name `circuit-breaker` registers under. */
export const CIRCUIT_BREAKER = 'circuit-breaker';

/** Where an agent's breaker stands: taking work, refusing it, or letting one probe through. */
export type BreakerState = 'closed' | 'open' | 'half_open';

/** Options of {@link circuitBreaker}. */
export interface CircuitBreakerOptions {
  /** Failed tasks within `windowMs` that open the breaker. Default 5. */
  failureThreshold?: number;
  /** The window failures are counted over. Default 60,000 ms. */
  windowMs?: number;
  /** Also open when this share of tasks in the window failed, in (0, 1]. Off by default. */
  failureRatio?: number;
  /** The ratio counts only once the window holds this many outcomes. Default 10. */
  minRequests?: number;
  /** How long an open breaker refuses work before admitting a probe. Default 30,000 ms. */
  cooldownMs?: number;
  /** Decides about failed agents; `restart()` by default. */
  inner?: RecoveryStrategy;
}

/** A circuit breaker strategy, which also tells the state of each agent's breaker. */
export interface CircuitBreaker extends RecoveryStrategy {
  /** The breaker state of an agent (`closed` for one never seen). */
  stateOf(agentId: string): BreakerState;
}

interface Circuit {
  state: BreakerState;
  /** The latest failure instants while closed, at most `failureThreshold` of them. */
  failures: number[];
  outcomes: RollingCount | undefined;
  openedAt: number;
  /** When the half-open probe was let through. */
  probeAt: number | undefined;
}

/**
 * A circuit breaker per agent: after `failureThreshold` failed tasks within `windowMs` (or a
 * `failureRatio` of at least `minRequests`) the agent's breaker opens and it takes no work;
 * after `cooldownMs` it half-opens and admits one probe task; the probe's success closes
 * it, its failure opens it again. A probe that never reports (say, it was admitted but not
 * dispatched) is replaced by another after a further `cooldownMs`. Failed agents are left
 * to `inner`.
 *
 * @example
 * ```ts
 * import { circuitBreaker } from '@switchboard/plugins/circuit-breaker'
 * import { replacement } from '@switchboard/plugins/replacement'
 * createSwitchboard({ recovery: circuitBreaker({ failureThreshold: 3, inner: replacement() }) })
 * ```
 */
export function circuitBreaker(options?: CircuitBreakerOptions): CircuitBreaker {
  const opts = readOptions<CircuitBreakerOptions>(CIRCUIT_BREAKER, options);
  const num = (field: keyof CircuitBreakerOptions, fallback: number, integer = false) =>
    numberOption(CIRCUIT_BREAKER, field, opts[field], fallback, integer ? { integer, min: 1 } : {});
  const failureThreshold = num('failureThreshold', 5, true);
  const windowMs = num('windowMs', 60_000);
  const minRequests = num('minRequests', 10, true);
  const cooldownMs = num('cooldownMs', 30_000);
  const failureRatio =
    opts.failureRatio === undefined
      ? undefined
      : numberOption(CIRCUIT_BREAKER, 'failureRatio', opts.failureRatio, 1, { max: 1 });
  const inner = opts.inner ?? restart();
  if (inner === null || typeof inner !== 'object' || typeof inner.onAgentFailure !== 'function') {
    throw configError(CIRCUIT_BREAKER, `inner must be a recovery strategy, got ${describe(inner)}`);
  }
  const circuits = new Map<string, Circuit>();

  const open = (circuit: Circuit, now: number): void => {
    circuit.state = 'open';
    circuit.openedAt = now;
    circuit.probeAt = undefined;
    circuit.failures = [];
    circuit.outcomes?.reset();
  };

  const recordClosed = (circuit: Circuit, ok: boolean, now: number): void => {
    circuit.outcomes?.add(now, ok);
    if (!ok) {
      circuit.failures = circuit.failures.filter((at) => now - at < windowMs);
      circuit.failures.push(now);
      if (circuit.failures.length > failureThreshold) circuit.failures.shift();
      if (circuit.failures.length >= failureThreshold) {
        open(circuit, now);
        return;
      }
    }
    if (failureRatio !== undefined && circuit.outcomes !== undefined) {
      const { ok: good, failed } = circuit.outcomes.totals(now);
      const total = good + failed;
      if (total >= minRequests && failed / total >= failureRatio) open(circuit, now);
    }
  };

  return {
    name: CIRCUIT_BREAKER,
    stateOf: (agentId) => circuits.get(agentId)?.state ?? 'closed',
    onAgentFailure: (failure: AgentFailure): RecoveryAction => inner.onAgentFailure(failure),
    onTaskOutcome(agentId, ok, now) {
      let circuit = circuits.get(agentId);
      if (circuit === undefined) {
        // A healthy agent needs no record until the ratio has to count its successes.
        if (ok && failureRatio === undefined) return;
        circuit = {
          state: 'closed',
          failures: [],
          outcomes: failureRatio === undefined ? undefined : rollingCount(windowMs),
          openedAt: 0,
          probeAt: undefined,
        };
        circuits.set(agentId, circuit);
      }
      if (circuit.state === 'closed') recordClosed(circuit, ok, now);
      else if (circuit.state === 'half_open') {
        // The probe's outcome decides. (While open, late outcomes of tasks started before
        // the breaker opened say nothing new, so they are ignored.)
        if (ok) circuits.delete(agentId);
        else open(circuit, now);
      }
    },
    admits(agentId, now) {
      const circuit = circuits.get(agentId);
      if (circuit === undefined || circuit.state === 'closed') return true;
      if (circuit.state === 'open') {
        if (now - circuit.openedAt < cooldownMs) return false;
        circuit.state = 'half_open';
      } else if (circuit.probeAt !== undefined && now - circuit.probeAt < cooldownMs) {
        return false;
      }
      circuit.probeAt = now;
      return true;
    },
    agentRemoved(agentId) {
      circuits.delete(agentId);
      inner.agentRemoved?.(agentId);
    },
  };
}
