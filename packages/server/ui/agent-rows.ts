import { signal } from '@preact/signals';
import type { AgentView } from '@switchboard/core';

/** How many state changes the timeline keeps, and completion times per agent. */
const TIMELINE = 200;
const LATENCIES = 100;

/** An agent as the page knows it: the API's view (when the token may list agents) and what the events told. */
export interface AgentRow {
  id: string;
  name: string;
  state: string;
  capabilities: string[];
  remote?: boolean;
  view?: AgentView;
  completed: number;
  failed: number;
  /** Lease-to-completion times of its recent tasks, ms. */
  latencies: number[];
  /** Standby promotions into a failed agent's place, and tasks it took over from a failed agent. */
  failovers: number;
  /** Why it left the pool, when it did. */
  gone?: string;
}

/** One change of an agent's state, for the timeline. */
export interface StateChange {
  at: number;
  agentId: string;
  name: string;
  to: string;
  detail: string;
}

export const agents = signal<ReadonlyMap<string, AgentRow>>(new Map());
export const timeline = signal<readonly StateChange[]>([]);

const fresh = { completed: 0, failed: 0, latencies: [], failovers: 0 };

/** Changes one agent's row, making it first when the page did not know the agent. */
export function updateAgent(id: string, change: (row: AgentRow) => AgentRow, name = id): void {
  const next = new Map(agents.value);
  next.set(id, change(next.get(id) ?? { id, name, state: 'unknown', capabilities: [], ...fresh }));
  agents.value = next;
}

/** Counts a completion, and its time from lease to completion when known. */
export function completedBy(id: string, latency: number | undefined): void {
  updateAgent(id, (row) => ({
    ...row,
    completed: row.completed + 1,
    latencies:
      latency === undefined ? row.latencies : [...row.latencies, latency].slice(-LATENCIES),
  }));
}

/** Adds a line to the timeline, newest first. */
export function stateChange(change: StateChange): void {
  timeline.value = [change, ...timeline.value].slice(0, TIMELINE);
}

/** Takes in the agent list of the API; an agent it no longer has left the pool. */
export function mergeAgents(list: readonly AgentView[]): void {
  const next = new Map(agents.value);
  const seen = new Set<string>();
  for (const view of list) {
    seen.add(view.id);
    next.set(view.id, {
      ...(next.get(view.id) ?? fresh),
      id: view.id,
      name: view.name,
      state: view.state,
      capabilities: view.capabilities.map((c) => (typeof c === 'string' ? c : c.name)),
      remote: view.remote,
      view,
    });
  }
  // An agent the list no longer has left the pool, whether or not the stream said so.
  for (const [id, row] of next) {
    if (!seen.has(id) && row.view !== undefined && row.gone === undefined) {
      next.set(id, { ...row, state: 'removed', gone: 'removed' });
    }
  }
  agents.value = next;
}
