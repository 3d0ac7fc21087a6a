import type { AgentRole, AgentState, Capability } from '../model/agent.js';

/**
 * A remote agent's registration as every process of a cluster sees it: what `POST /v1/agents`
 * gave, and the last sign of life any process heard. Plain data (JSON-serialisable), so a
 * shared backend can store it as is.
 */
export interface AgentRecord {
  id: string;
  name: string;
  role: AgentRole;
  version: string;
  capabilities: Capability[];
  maxConcurrency: number;
  metadata: Record<string, unknown>;
  state: AgentState;
  registeredAt: number;
  /** The latest heartbeat (or lease poll) any process heard, epoch ms. */
  lastHeartbeatAt: number;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  /** The process that heard it last (its cluster origin id). */
  owner: string;
  /**
   * `process` for the liveness record of a Switchboard process itself rather than of an
   * agent: its id is the holder id the process leases under, it carries no capabilities and
   * is never shown as an agent. When it falls silent, another process claims it as it would
   * a silent agent and puts back every lease the dead process held. Absent for an agent.
   */
  kind?: 'process';
}

/**
 * The remote agents of every process sharing one backend (optional {@link Backend.agents}).
 * A process writes a registration once, refreshes it on heartbeats, and looks an unknown
 * agent id up here before answering `not_found`, so an agent can reconnect to any process.
 * Records are returned whether live or not: {@link isAgentLive} tells.
 */
export interface AgentDirectory {
  /** Stores (or replaces) a registration. */
  put(record: AgentRecord): Promise<void>;
  /**
   * A sign of life heard by `owner` at `now`: `lastHeartbeatAt` and `owner` are updated and
   * the record returned. `undefined` (nothing written) when the id is unknown or no longer
   * live, so that the agent registers again.
   */
  touch(id: string, owner: string, now: number): Promise<AgentRecord | undefined>;
  /**
   * Removes a registration; `true` when this call removed it. With `staleAt`, only a record
   * that is not live at `staleAt` is removed: among processes that race to fail the same
   * dead agent over, exactly one gets `true`.
   */
  remove(id: string, options?: { staleAt?: number }): Promise<boolean>;
  /** The stored record, live or not. */
  get(id: string): Promise<AgentRecord | undefined>;
  /** Every stored record (long-dead ones may be pruned), in no particular order. */
  list(now: number): Promise<AgentRecord[]>;
}

/** True while `record` heard from its agent within its heartbeat timeout. */
export function isAgentLive(record: AgentRecord, now: number): boolean {
  return record.lastHeartbeatAt + record.heartbeatTimeoutMs > now;
}
