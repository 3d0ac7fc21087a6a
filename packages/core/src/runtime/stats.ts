import { AGENT_STATES } from '../model/agent.js';
import { PRIORITIES } from '../model/priority.js';
import type { BuiltEngine } from './create-engine.js';
import type { SwitchboardStats } from './options.js';

/**
 * The figures of `GET /v1/stats`. The queue's depth counts the tasks the dispatcher holds
 * for want of an eligible agent too: they are leased, but no agent has them yet.
 */
export async function engineStats(engine: BuiltEngine): Promise<SwitchboardStats> {
  const queue = await engine.backend.stats();
  const byState: Record<string, number> = Object.fromEntries(AGENT_STATES.map((s) => [s, 0]));
  let busy = 0;
  const members = engine.pool.agents();
  for (const member of members) {
    byState[member.state] = (byState[member.state] ?? 0) + 1;
    if (member.running > 0) busy++;
  }
  const held = engine.dispatcher.heldByPriority();
  let depth = queue.depth;
  for (const p of PRIORITIES) depth += held[p];
  const byPriority = Object.fromEntries(
    PRIORITIES.map((p) => [p, (queue.byPriority[p] ?? 0) + held[p]]),
  );
  return {
    agents: { total: members.length, busy, byState },
    queue: { depth, byPriority },
    tasks: { ...engine.tracker.counters },
    throughputPerSec: engine.tracker.throughputPerSec(engine.now()),
    latencyMs: engine.tracker.latency(),
  };
}
