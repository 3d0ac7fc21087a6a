import type { AgentRole, Capability, HealthMetrics } from '../model/agent.js';
import type { TaskRecord } from '../model/task.js';

/**
 * What a load balancer sees of an agent: a live agent that has the task's capability.
 * `freeSlots` is how many more tasks it may take now (0 when busy).
 */
export interface AgentCandidate {
  readonly id: string;
  readonly name: string;
  readonly role: AgentRole;
  /** The agent definition's version (for canaries and capability-aware choice). */
  readonly version: string;
  readonly capabilities: readonly Capability[];
  readonly maxConcurrency: number;
  readonly activeTasks: number;
  readonly freeSlots: number;
  /** A relative weight (default 1) for weighted strategies. */
  readonly weight: number;
  /** Error rate and latency (EWMA), cpu/memory when reported. */
  readonly metrics: Readonly<HealthMetrics>;
  /** `true` for agents that work over HTTP (remote workers). */
  readonly remote: boolean;
}

/** What a load balancer knows of the task being placed. */
export interface SelectContext {
  readonly task: Readonly<TaskRecord>;
  /** The current time (epoch ms). */
  readonly now: number;
}

/**
 * Picks the agent for one task among the live candidates that have its capability.
 *
 * Synchronous and free of I/O: it sits on the dispatch hot path. It should return a
 * candidate with `freeSlots > 0`; a strategy that pins work to an agent (session affinity)
 * may return a busy one, and the task then waits for that agent. `undefined` leaves the
 * task queued.
 *
 * @example
 * ```ts
 * const firstFree: LoadBalancer = {
 *   name: 'first-free',
 *   select: (candidates) => candidates.find((c) => c.freeSlots > 0),
 * }
 * ```
 */
export interface LoadBalancer {
  readonly name: string;
  select(candidates: readonly AgentCandidate[], ctx: SelectContext): AgentCandidate | undefined;
  /** Told when an agent leaves the pool, to forget what it kept about it. */
  agentRemoved?(agentId: string): void;
}
