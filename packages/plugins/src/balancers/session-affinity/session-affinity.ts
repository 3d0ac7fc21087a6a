import type { AgentCandidate, LoadBalancer, SelectContext } from '@switchboard/core';
import { configError, describe, numberOption, readOptions } from '../../shared/index.js';
import { roundRobin } from '../round-robin/index.js';
import { lruMap } from './lru-map.js';

/** The name `session-affinity` registers under. */
export const SESSION_AFFINITY = 'session-affinity';

/** Options of {@link sessionAffinity}. */
export interface SessionAffinityOptions {
  /** Places tasks without a session, and sessions not pinned yet; round robin by default. */
  fallback?: LoadBalancer;
  /** Sessions remembered at most; the least recently used is forgotten first. Default 10,000. */
  maxSessions?: number;
}

/** A session-affinity balancer, which also tells where a session is pinned. */
export interface SessionAffinityBalancer extends LoadBalancer {
  /** The agent id `sessionKey` is pinned to, if any (does not refresh its recency). */
  pinnedTo(sessionKey: string): string | undefined;
  /** How many sessions are pinned now. */
  readonly sessions: number;
}

/**
 * Session affinity: tasks with the same `sessionKey` go to the agent that took the first one
 * (a browser session, a conversation), as long as that agent is among the candidates. A
 * pinned agent that is busy is still returned, and the task waits for it; one that is gone
 * is replaced by the fallback's choice. Tasks without a session go to the fallback.
 *
 * @example
 * ```ts
 * import { sessionAffinity } from '@switchboard/plugins/session-affinity'
 * import { leastBusy } from '@switchboard/plugins/least-busy'
 * createSwitchboard({ loadBalancer: sessionAffinity({ fallback: leastBusy(), maxSessions: 50_000 }) })
 * ```
 */
export function sessionAffinity(options?: SessionAffinityOptions): SessionAffinityBalancer {
  const opts = readOptions<SessionAffinityOptions>(SESSION_AFFINITY, options);
  const maxSessions = numberOption(SESSION_AFFINITY, 'maxSessions', opts.maxSessions, 10_000, {
    integer: true,
    min: 1,
  });
  const fallback = opts.fallback ?? roundRobin();
  if (fallback === null || typeof fallback !== 'object' || typeof fallback.select !== 'function') {
    throw configError(
      SESSION_AFFINITY,
      `fallback must be a load balancer, got ${describe(fallback)}`,
    );
  }
  // Session key → agent id, the least recently used forgotten first.
  const pins = lruMap<string>(maxSessions);

  return {
    name: SESSION_AFFINITY,
    get sessions() {
      return pins.size;
    },
    pinnedTo: (sessionKey) => pins.peek(sessionKey),
    select(candidates: readonly AgentCandidate[], ctx: SelectContext) {
      const sessionKey = ctx.task.sessionKey;
      if (sessionKey === undefined) return fallback.select(candidates, ctx);
      const pinnedId = pins.get(sessionKey);
      if (pinnedId !== undefined) {
        const pinned = candidates.find((c) => c.id === pinnedId);
        if (pinned !== undefined) return pinned;
      }
      const chosen = fallback.select(candidates, ctx);
      if (chosen !== undefined) pins.set(sessionKey, chosen.id);
      return chosen;
    },
    agentRemoved(agentId: string): void {
      // Removal is rare next to selection, so a scan beats keeping a reverse index in sync.
      for (const [sessionKey, pinnedId] of pins.entries()) {
        if (pinnedId === agentId) pins.delete(sessionKey);
      }
      fallback.agentRemoved?.(agentId);
    },
  };
}
