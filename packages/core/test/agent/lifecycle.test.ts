import { describe, expect, it, vi } from 'vitest';
import {
  AGENT_STATES,
  AGENT_TRANSITIONS,
  AgentLifecycle,
  type AgentState,
  canTransition,
  type TransitionEvent,
} from '../../src/agent/index.js';
import { SwitchboardError } from '../../src/errors.js';

const LEGAL: Record<AgentState, AgentState[]> = {
  idle: ['initializing', 'shutdown'],
  initializing: ['ready', 'recovering', 'shutdown'],
  ready: ['working', 'recovering', 'shutdown'],
  working: ['ready', 'recovering', 'shutdown'],
  recovering: ['initializing', 'ready', 'shutdown'],
  shutdown: [],
};

const pairs = AGENT_STATES.flatMap((from) => AGENT_STATES.map((to) => [from, to] as const));

describe('AgentLifecycle transition table', () => {
  it('is exactly the documented table', () => {
    for (const state of AGENT_STATES) {
      expect([...AGENT_TRANSITIONS[state]].sort()).toEqual([...LEGAL[state]].sort());
    }
  });

  it.each(pairs.filter(([from, to]) => LEGAL[from].includes(to)))('allows %s → %s', (from, to) => {
    const life = new AgentLifecycle('a1', { initial: from, now: () => 42 });
    expect(life.can(to)).toBe(true);
    expect(life.transition(to, 'because')).toEqual({
      agentId: 'a1',
      from,
      to,
      reason: 'because',
      at: 42,
    });
    expect(life.state).toBe(to);
  });

  it.each(pairs.filter(([from, to]) => !LEGAL[from].includes(to)))(
    'refuses %s → %s naming both states',
    (from, to) => {
      const life = new AgentLifecycle('a1', { initial: from });
      expect(life.can(to)).toBe(false);
      expect(canTransition(from, to)).toBe(false);
      let error: unknown;
      try {
        life.transition(to);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(SwitchboardError);
      expect((error as SwitchboardError).code).toBe('invalid_transition');
      expect((error as Error).message).toBe(`agent "a1": illegal transition ${from} → ${to}`);
      expect(life.state).toBe(from);
    },
  );

  it('starts idle and walks a full healthy life', () => {
    const life = new AgentLifecycle('a2');
    expect(life.state).toBe('idle');
    for (const to of ['initializing', 'ready', 'working', 'ready', 'shutdown'] as const) {
      life.transition(to);
    }
    expect(life.state).toBe('shutdown');
  });
});

describe('AgentLifecycle events', () => {
  it('notifies listeners after the state changed, without reason when none given', () => {
    const life = new AgentLifecycle('a1', { now: () => 1000 });
    const seen: (TransitionEvent & { stateDuring: AgentState })[] = [];
    life.onTransition((e) => seen.push({ ...e, stateDuring: life.state }));
    life.transition('initializing');
    expect(seen).toEqual([
      { agentId: 'a1', from: 'idle', to: 'initializing', at: 1000, stateDuring: 'initializing' },
    ]);
    expect('reason' in (seen[0] as object)).toBe(false);
  });

  it('stops notifying after unsubscribe, and a function added twice is two subscriptions', () => {
    const life = new AgentLifecycle('a1');
    const listener = vi.fn();
    const off1 = life.onTransition(listener);
    life.onTransition(listener);
    life.transition('initializing');
    expect(listener).toHaveBeenCalledTimes(2);
    off1();
    life.transition('ready');
    expect(listener).toHaveBeenCalledTimes(3);
  });

  it('a throwing listener breaks neither the transition nor the other listeners', () => {
    const reported: unknown[] = [];
    const life = new AgentLifecycle('a1', {
      onListenerError: (error, event) => reported.push([(error as Error).message, event.to]),
    });
    const after = vi.fn();
    life.onTransition(() => {
      throw new Error('observer bug');
    });
    life.onTransition(after);
    expect(() => life.transition('initializing')).not.toThrow();
    expect(life.state).toBe('initializing');
    expect(after).toHaveBeenCalledOnce();
    expect(reported).toEqual([['observer bug', 'initializing']]);
    expect(life.listenerErrors).toBe(1);
  });

  it('survives an error hook that throws too, and still counts the error', () => {
    const life = new AgentLifecycle('a1', {
      onListenerError: () => {
        throw new Error('hook bug');
      },
    });
    life.onTransition(() => {
      throw 'not even an Error';
    });
    expect(() => life.transition('initializing')).not.toThrow();
    expect(life.listenerErrors).toBe(1);
  });
});
