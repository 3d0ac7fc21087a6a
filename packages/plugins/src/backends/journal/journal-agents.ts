import { type AgentDirectory, type AgentRecord, isAgentLive } from '@switchboard/core';
import type { JournalOp } from './journal-ops.js';
import type { RecordIndex } from './record-index.js';

/** A copy a caller may keep or change without touching the directory's own record. */
function copy(record: AgentRecord): AgentRecord {
  return {
    ...record,
    capabilities: record.capabilities.map((c) => ({ ...c })),
    metadata: { ...record.metadata },
  };
}

/**
 * The journal's agent directory: remote agents' registrations are frames of the log (`agent`,
 * `agent-gone`) and part of every snapshot, so an agent registered before a crash or a
 * restart is known after it and does not have to register again. Heartbeats are not logged
 * (they come every few seconds per agent): after a restart each agent gets a full heartbeat
 * timeout, counted from the restart, to come back.
 */
export class JournalAgentDirectory implements AgentDirectory {
  readonly #index: () => RecordIndex;
  readonly #log: (op: JournalOp) => Promise<void>;
  readonly #guard: () => void;

  /** `index`: the journal's current index; `log`: appends a frame and resolves once durable. */
  constructor(index: () => RecordIndex, log: (op: JournalOp) => Promise<void>, guard: () => void) {
    this.#index = index;
    this.#log = log;
    this.#guard = guard;
  }

  async put(record: AgentRecord): Promise<void> {
    this.#guard();
    const stored = copy(record);
    this.#index().agents.set(stored.id, stored);
    await this.#log({ op: 'agent', record: stored, now: Date.now() });
  }

  async touch(id: string, owner: string, now: number): Promise<AgentRecord | undefined> {
    this.#guard();
    const record = this.#index().agents.get(id);
    if (record === undefined || !isAgentLive(record, now)) return undefined;
    record.lastHeartbeatAt = now;
    record.owner = owner;
    return copy(record);
  }

  async remove(id: string, options: { staleAt?: number } = {}): Promise<boolean> {
    this.#guard();
    const agents = this.#index().agents;
    const record = agents.get(id);
    if (record === undefined) return false;
    if (options.staleAt !== undefined && isAgentLive(record, options.staleAt)) return false;
    agents.delete(id);
    await this.#log({ op: 'agent-gone', id, now: Date.now() });
    return true;
  }

  async get(id: string): Promise<AgentRecord | undefined> {
    this.#guard();
    const record = this.#index().agents.get(id);
    return record === undefined ? undefined : copy(record);
  }

  async list(_now: number): Promise<AgentRecord[]> {
    this.#guard();
    return [...this.#index().agents.values()].map(copy);
  }
}
