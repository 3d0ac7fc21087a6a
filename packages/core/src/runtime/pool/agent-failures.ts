import type { AgentFailure, RecoveryAction } from '../../contracts/recovery.js';
import { toError } from '../../errors.js';
import { PRIORITIES, priorityLevel } from '../../model/priority.js';
import type { Engine } from '../engine.js';
import type { Failures } from '../roles.js';
import type { PoolMember } from './pool-member.js';

/** The roles agent failures uses, so that it can be built and tested with just these. */
export type AgentFailuresRoles = Pick<
  Engine,
  'book' | 'dispatcher' | 'emit' | 'now' | 'onError' | 'pool' | 'recovery' | 'remotes' | 'running'
>;

/**
 * What happens when an agent fails: it leaves the pool, a warm standby is promoted in its
 * place when one fits (the {@link FailoverManager}), every task it holds goes back to the
 * queue at once (attempt counted), `agent.failed` is emitted, then the recovery strategy's
 * action is applied to the slot, or, when a standby filled it, to refilling the standbys.
 */
export class AgentFailures implements Failures {
  readonly #engine: AgentFailuresRoles;
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();

  constructor(engine: AgentFailuresRoles) {
    this.#engine = engine;
  }

  /** Fails `member` (once; a member already gone is left alone). */
  async fail(member: PoolMember, reason: AgentFailure['reason'], error?: Error): Promise<void> {
    const engine = this.#engine;
    if (member.gone) return;
    const detectedAt = engine.now();
    const agent = member.agent;
    if (agent?.lifecycle.can('recovering')) {
      agent.lifecycle.transition('recovering', reason);
    } else if (agent === undefined) {
      member.remoteState = 'recovering';
    }
    engine.pool.detach(member);
    // A standby is promoted before the tasks go back, so the first re-lease can go to it.
    const failover = engine.pool.failover.begin(member, reason, detectedAt);
    const message = error?.message ?? `agent ${member.id} failed (${reason})`;
    try {
      const records = await engine.book.release([...member.leases], {
        message,
        code: 'agent_failed',
        retryable: true,
      });
      engine.pool.failover.released(failover, records);
    } catch (thrown) {
      // The backend could not take the tasks back now; their leases expire and requeue them.
      engine.onError(thrown);
    }
    engine.remotes.dismiss(member);
    engine.dispatcher.wake();
    const now = engine.now();
    const failure: AgentFailure = {
      agentId: member.id,
      agentName: member.name,
      reason,
      recentFailures: engine.pool.recordFailure(member.name, now),
      remote: member.remote,
      now,
      ...(error === undefined ? {} : { error }),
    };
    let action: RecoveryAction;
    try {
      action = engine.recovery.onAgentFailure(failure);
    } catch (thrown) {
      action = { action: 'give_up', reason: `recovery threw: ${toError(thrown).message}` };
    }
    engine.emit('agent.failed', () => ({
      agentId: member.id,
      name: member.name,
      reason,
      error: message,
      remote: member.remote,
      action,
      ...(member.standby ? { standby: true } : {}),
      ...(failover.standbyId === undefined ? {} : { standbyId: failover.standbyId }),
    }));
    if (member.standby || failover.standbyId !== undefined) this.#replenish(member, action);
    // A draining agent was leaving anyway: its slot is not refilled.
    else if (!member.draining) this.#apply(member, action);
    if (agent !== undefined) {
      // Its handlers may still run (abandoned); stopping refuses new work and runs the hook.
      agent.stop(`failed: ${reason}`).catch((thrown: unknown) => engine.onError(thrown));
    }
  }

  /** Cancels pending restarts, standby replenishments and failover watches. */
  stop(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#engine.pool.backups.stop();
    this.#engine.pool.failover.stop();
  }

  /**
   * A standby took the failed agent's place (or the failed agent was a standby): the slot
   * is filled, so the action refills the standby set instead, after a restart's backoff.
   */
  #replenish(member: PoolMember, action: RecoveryAction): void {
    const backups = this.#engine.pool.backups;
    switch (action.action) {
      case 'give_up':
        return;
      case 'restart':
        backups.replenish(action.delayMs);
        return;
      case 'degrade':
        this.#apply(member, action);
        backups.replenish();
        return;
      default:
        backups.replenish();
    }
  }

  #apply(member: PoolMember, action: RecoveryAction): void {
    const engine = this.#engine;
    const pool = engine.pool;
    const definition = member.definition;
    switch (action.action) {
      case 'restart': {
        if (definition === undefined || pool.converging(member.name)) return;
        const timer = setTimeout(() => {
          this.#timers.delete(timer);
          if (engine.running) void this.#replace(member);
        }, action.delayMs);
        this.#timers.add(timer);
        return;
      }
      case 'replace':
        if (definition !== undefined) void this.#replace(member);
        return;
      case 'failover':
        // No standby could take its place (one would have been promoted): a new agent does.
        if (definition !== undefined) void this.#replace(member);
        return;
      case 'degrade': {
        const level = priorityLevel(action.minPriority);
        const factor = Math.min(1, Math.max(0, action.concurrencyFactor));
        pool.degrade(member.name, PRIORITIES.includes(action.minPriority) ? level : 3, factor);
        return;
      }
      case 'give_up':
        return;
    }
  }

  async #replace(member: PoolMember): Promise<void> {
    const engine = this.#engine;
    // A rolling update that is replacing the definition's agents refills the slot itself.
    if (!engine.running || member.definition === undefined) return;
    if (engine.pool.converging(member.name)) return;
    try {
      await engine.pool.spawn(member.name, 1);
    } catch (thrown) {
      engine.onError(thrown);
    }
  }
}
