import type { AgentRole, AgentState, Capability, CapabilityInput } from '../../model/agent.js';
import type { PoolMemberInit } from '../pool/pool-member.js';

/** A remote agent's registration (docs/http.md, `POST /v1/agents`). */
export interface RemoteAgentInput {
  /** A human-readable name; the agent's id when left out. */
  readonly name?: string;
  readonly role?: AgentRole;
  readonly capabilities: readonly CapabilityInput[];
  /** ≥ 1, default 1. */
  readonly maxConcurrency?: number;
  readonly metadata?: Record<string, unknown>;
  /** Its id; a random UUID unless given (a duplicate is a `conflict`). */
  readonly id?: string;
}

/** An agent as the API shows it. */
export interface AgentView {
  id: string;
  name: string;
  role: AgentRole;
  state: AgentState;
  capabilities: Capability[];
  maxConcurrency: number;
  activeTasks: number;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  registeredAt: number;
  lastHeartbeatAt: number;
  /** `true` for an agent working over HTTP. */
  remote: boolean;
  version: string;
  metadata: Record<string, unknown>;
}

/**
 * A remote agent as a pool member is made from it (validated): a member's fields but those
 * of an in-process agent (its handler, batching and health source) and its weight.
 */
export type RemoteMemberInit = Omit<PoolMemberInit, 'weight' | 'agent' | 'batchMax' | 'metrics'>;

/** Options of a lease long-poll. */
export interface LeaseOptions {
  /** 1..1000, default 1 (never more than the agent's free concurrency). */
  readonly max?: number;
  /** 0..30 000 ms, default 0: how long to wait for a first task. */
  readonly waitMs?: number;
  /** Ends the poll with `[]` when aborted (the HTTP client went away). */
  readonly signal?: AbortSignal;
}
