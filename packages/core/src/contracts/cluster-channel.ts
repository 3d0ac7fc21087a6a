import type { AgentRecord } from './agent-directory.js';

/** A notice that a lease ended or moved through a process other than the one holding it. */
export interface LeaseNotice {
  id: string;
  token: string;
  /** The new expiry (an extend); absent when the lease ended (completed or failed). */
  expiresAt?: number;
}

/** A change of the agent directory, so that other processes need not poll it. */
export interface AgentNotice {
  op: 'put' | 'touch' | 'remove';
  id: string;
  /** The record as written (`put`, `touch`). */
  record?: AgentRecord;
}

/**
 * What processes of one cluster tell each other, batched: one message per process and tick.
 * Every field is optional; JSON-serialisable. `origin` names the sender, so a process skips
 * its own messages (pub/sub delivers them to the publisher too).
 */
export interface ClusterMessage {
  origin: string;
  /** Events published on the sender's bus that some other process listens to. */
  events?: { topic: string; data: Record<string, unknown> }[];
  /** The sender's complete set of subscription patterns (replaces the previous one). */
  interest?: string[];
  /** A process that just joined asks every other to announce its interest. */
  hello?: true;
  /** Ids of tasks that became terminal (completed, dead, cancelled) on the sender. */
  ended?: string[];
  leases?: LeaseNotice[];
  agents?: AgentNotice[];
}

/**
 * A best-effort broadcast to every process sharing a backend (optional
 * {@link Backend.cluster}): events, interest, and notices that keep each process's view of
 * shared state fresh. Messages may be lost (a reconnection); nothing depends on one arriving
 * for correctness beyond latency, because the backend stays the authority.
 */
export interface ClusterChannel {
  /** Sends `message` to every subscribed process (possibly this one too). */
  publish(message: ClusterMessage): void;
  /** Calls `listener` for every message received; returns the unsubscribe function. */
  subscribe(listener: (message: ClusterMessage) => void): () => void;
}
