import type { Priority } from '../model/priority.js';

/** Why and how an agent failed, as a recovery strategy sees it. */
export interface AgentFailure {
  readonly agentId: string;
  /** The agent definition's name (restarts and replacements are per definition). */
  readonly agentName: string;
  readonly reason: 'crashed' | 'heartbeat_timeout' | 'health_check' | 'error_rate' | 'hung';
  readonly error?: Error;
  /** Failures of agents of this definition within the strategy's window, this one included. */
  readonly recentFailures: number;
  /** `true` for remote (HTTP) agents, which Switchboard cannot restart itself. */
  readonly remote: boolean;
  readonly now: number;
}

/**
 * What to do about a failed agent. Its tasks have already gone back to the queue (failover
 * always happens); the action decides what becomes of the agent slot.
 */
export type RecoveryAction =
  /** Start the same agent definition again after `delayMs`. */
  | { readonly action: 'restart'; readonly delayMs: number }
  /** Create a new agent from the definition's factory at once. */
  | { readonly action: 'replace' }
  /** Promote a warm standby (backup) agent of the same capabilities, if one exists. */
  | { readonly action: 'failover' }
  /**
   * Keep going with less: only tasks at `minPriority` or above are dispatched and the
   * definition's concurrency is multiplied by `concurrencyFactor` (0..1).
   */
  | {
      readonly action: 'degrade';
      readonly minPriority: Priority;
      readonly concurrencyFactor: number;
    }
  /** Leave the slot empty. */
  | { readonly action: 'give_up'; readonly reason: string };

/**
 * A recovery strategy: decides what happens to a failed agent, and may gate which agents
 * take work (a circuit breaker opens on repeated task failures).
 */
export interface RecoveryStrategy {
  readonly name: string;
  onAgentFailure(failure: AgentFailure): RecoveryAction;
  /** Observes each task outcome of an agent. */
  onTaskOutcome?(agentId: string, ok: boolean, now: number): void;
  /** May this agent take work now? (`false` while its breaker is open.) */
  admits?(agentId: string, now: number): boolean;
  /** Told when an agent leaves the pool. */
  agentRemoved?(agentId: string): void;
}
