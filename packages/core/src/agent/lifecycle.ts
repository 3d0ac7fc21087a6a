import { SwitchboardError } from '../errors.js';
import type { AgentState } from '../model/agent.js';
import { type ListenerErrorHandler, Listeners } from './listeners.js';

/**
 * Every legal transition, state → the states it may move to:
 *
 * | from           | to                                     |
 * |----------------|----------------------------------------|
 * | `idle`         | `initializing`, `shutdown`             |
 * | `initializing` | `ready`, `recovering`, `shutdown`      |
 * | `ready`        | `working`, `recovering`, `shutdown`    |
 * | `working`      | `ready`, `recovering`, `shutdown`      |
 * | `recovering`   | `initializing`, `ready`, `shutdown`    |
 * | `shutdown`     | — (terminal)                           |
 *
 * `idle → shutdown` lets an agent that was never started be discarded without pretending
 * to initialize it. There is no self-transition (`working → working`): a second task on a
 * working agent changes its task count, not its state, so no event is emitted for it.
 */
export const AGENT_TRANSITIONS: Readonly<Record<AgentState, readonly AgentState[]>> = Object.freeze(
  {
    idle: Object.freeze(['initializing', 'shutdown'] as const),
    initializing: Object.freeze(['ready', 'recovering', 'shutdown'] as const),
    ready: Object.freeze(['working', 'recovering', 'shutdown'] as const),
    working: Object.freeze(['ready', 'recovering', 'shutdown'] as const),
    recovering: Object.freeze(['initializing', 'ready', 'shutdown'] as const),
    shutdown: Object.freeze([] as const),
  },
);

/** True when the table allows `from → to`. */
export function canTransition(from: AgentState, to: AgentState): boolean {
  return AGENT_TRANSITIONS[from].includes(to);
}

/** Emitted after each transition. */
export interface TransitionEvent {
  readonly agentId: string;
  readonly from: AgentState;
  readonly to: AgentState;
  /** Why, when the caller said (e.g. `init failed: …`). */
  readonly reason?: string;
  /** When (epoch ms). */
  readonly at: number;
}

/** Options of an {@link AgentLifecycle}. */
export interface AgentLifecycleOptions {
  /** The starting state; `idle` unless given (e.g. rebuilding a registry from a backend). */
  readonly initial?: AgentState;
  /** Receives errors thrown by transition listeners (they never break a transition). */
  readonly onListenerError?: ListenerErrorHandler<TransitionEvent>;
  /** The clock of `at`; `Date.now` unless given. */
  readonly now?: () => number;
}

/**
 * The state machine of one agent, enforcing {@link AGENT_TRANSITIONS}.
 *
 * @example
 * ```ts
 * const life = new AgentLifecycle('a1')
 * const off = life.onTransition((e) => console.log(`${e.from} → ${e.to}`))
 * life.transition('initializing')
 * life.transition('ready')
 * life.can('idle') // false
 * off()
 * ```
 */
export class AgentLifecycle {
  private current: AgentState;
  private readonly listeners: Listeners<TransitionEvent>;
  private readonly now: () => number;

  constructor(
    readonly agentId: string,
    options: AgentLifecycleOptions = {},
  ) {
    this.current = options.initial ?? 'idle';
    this.listeners = new Listeners(options.onListenerError);
    this.now = options.now ?? Date.now;
  }

  /** The current state. */
  get state(): AgentState {
    return this.current;
  }

  /** Errors thrown by listeners so far (each was swallowed so the transition stood). */
  get listenerErrors(): number {
    return this.listeners.errorCount;
  }

  /** True when the current state may move to `to`. */
  can(to: AgentState): boolean {
    return canTransition(this.current, to);
  }

  /**
   * Moves to `to` and notifies listeners.
   *
   * @throws SwitchboardError `invalid_transition` naming the agent and both states.
   */
  transition(to: AgentState, reason?: string): TransitionEvent {
    const from = this.current;
    if (!canTransition(from, to)) {
      throw new SwitchboardError(
        'invalid_transition',
        `agent "${this.agentId}": illegal transition ${from} → ${to}`,
        { details: { agentId: this.agentId, from, to } },
      );
    }
    this.current = to;
    const at = this.now();
    const event: TransitionEvent =
      reason === undefined
        ? { agentId: this.agentId, from, to, at }
        : { agentId: this.agentId, from, to, reason, at };
    if (this.listeners.size > 0) this.listeners.emit(event);
    return event;
  }

  /** Calls `listener` after every transition; the returned function unsubscribes. */
  onTransition(listener: (event: TransitionEvent) => void): () => void {
    return this.listeners.add(listener);
  }
}
