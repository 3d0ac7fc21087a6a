/**
 * The conformance suite of the `RecoveryStrategy` interface. Every strategy's test calls
 * `testRecoveryStrategy(name, make)`, then adds its own cases. It depends only on the
 * public interface.
 */
import {
  type AgentFailure,
  PRIORITIES,
  type RecoveryAction,
  type RecoveryStrategy,
} from '@switchboard/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

/** Every reason an agent can fail for. */
export const FAILURE_REASONS: readonly AgentFailure['reason'][] = [
  'crashed',
  'heartbeat_timeout',
  'health_check',
  'error_rate',
  'hung',
];

/** A failure of a local agent `a1` of definition `worker`, crashed at `now` 1,000,000. */
export function agentFailure(overrides: Partial<AgentFailure> = {}): AgentFailure {
  return {
    agentId: 'a1',
    agentName: 'worker',
    reason: 'crashed',
    error: new Error('boom'),
    recentFailures: 1,
    remote: false,
    now: 1_000_000,
    ...overrides,
  };
}

/** Why `action` is not a valid {@link RecoveryAction}, or `undefined` when it is. */
export function invalidActionReason(action: unknown): string | undefined {
  if (action === null || typeof action !== 'object') return `not an object: ${String(action)}`;
  const a = action as Record<string, unknown>;
  switch (a.action) {
    case 'restart':
      return typeof a.delayMs === 'number' && Number.isFinite(a.delayMs) && a.delayMs >= 0
        ? undefined
        : `restart with delayMs ${String(a.delayMs)}`;
    case 'replace':
    case 'failover':
      return undefined;
    case 'degrade':
      if (!(PRIORITIES as readonly unknown[]).includes(a.minPriority)) {
        return `degrade with minPriority ${String(a.minPriority)}`;
      }
      return typeof a.concurrencyFactor === 'number' &&
        a.concurrencyFactor > 0 &&
        a.concurrencyFactor <= 1
        ? undefined
        : `degrade with concurrencyFactor ${String(a.concurrencyFactor)}`;
    case 'give_up':
      return typeof a.reason === 'string' && a.reason.length > 0
        ? undefined
        : 'give_up without a reason';
    default:
      return `unknown action ${String(a.action)}`;
  }
}

function expectValid(action: RecoveryAction): void {
  expect(invalidActionReason(action)).toBeUndefined();
}

type Step =
  | { kind: 'failure'; failure: AgentFailure }
  | { kind: 'outcome'; agentId: string; ok: boolean; now: number }
  | { kind: 'admits'; agentId: string; now: number }
  | { kind: 'removed'; agentId: string };

/** Plays `steps` on `strategy` and returns what it answered, in order. */
function play(strategy: RecoveryStrategy, steps: readonly Step[]): unknown[] {
  const answers: unknown[] = [];
  for (const step of steps) {
    if (step.kind === 'failure') answers.push(strategy.onAgentFailure(step.failure));
    else if (step.kind === 'outcome') {
      answers.push(strategy.onTaskOutcome?.(step.agentId, step.ok, step.now));
    } else if (step.kind === 'admits') answers.push(strategy.admits?.(step.agentId, step.now));
    else answers.push(strategy.agentRemoved?.(step.agentId));
  }
  return answers;
}

const arbAgent = fc.constantFrom('a1', 'a2', 'a3');

/** Steps whose clock only moves forward, as the engine's does. */
const arbSteps = fc
  .array(
    fc.tuple(
      fc.integer({ min: 0, max: 20_000 }),
      fc.oneof(
        fc.record({
          kind: fc.constant('failure' as const),
          agentId: arbAgent,
          agentName: fc.constantFrom('worker', 'browser'),
          reason: fc.constantFrom(...FAILURE_REASONS),
          recentFailures: fc.integer({ min: 1, max: 20 }),
          remote: fc.boolean(),
        }),
        fc.record({ kind: fc.constant('outcome' as const), agentId: arbAgent, ok: fc.boolean() }),
        fc.record({ kind: fc.constant('admits' as const), agentId: arbAgent }),
        fc.record({ kind: fc.constant('removed' as const), agentId: arbAgent }),
      ),
    ),
    { maxLength: 60 },
  )
  .map((raw) => {
    let now = 1_000_000;
    return raw.map(([dt, s]): Step => {
      now += dt;
      if (s.kind === 'failure') {
        const { kind, ...rest } = s;
        return { kind, failure: agentFailure({ ...rest, now }) };
      }
      if (s.kind === 'removed') return s;
      return { ...s, now };
    });
  });

/**
 * Runs the rules every recovery strategy must follow against strategies made by `make`
 * (a fresh one per test).
 */
export function testRecoveryStrategy(name: string, make: () => RecoveryStrategy): void {
  describe(`RecoveryStrategy conformance: ${name}`, () => {
    it('has a non-empty name', () => {
      const strategy = make();
      expect(typeof strategy.name).toBe('string');
      expect(strategy.name.length).toBeGreaterThan(0);
    });

    it('answers a valid action for every failure reason, local and remote', () => {
      const strategy = make();
      let now = 1_000_000;
      for (const remote of [false, true]) {
        for (const reason of FAILURE_REASONS) {
          now += 1;
          expectValid(strategy.onAgentFailure(agentFailure({ reason, remote, now })));
        }
      }
    });

    it('answers a valid action to a bare failure (no error, first failure, time 0)', () => {
      const { error: _, ...bare } = agentFailure({ recentFailures: 0, now: 0 });
      expectValid(make().onAgentFailure(bare));
    });

    it('never restarts a remote agent, however often it fails', () => {
      const strategy = make();
      for (let i = 0; i < 30; i++) {
        const reason = FAILURE_REASONS[i % FAILURE_REASONS.length]!;
        const action = strategy.onAgentFailure(
          agentFailure({ reason, remote: true, recentFailures: i + 1, now: 1_000_000 + i }),
        );
        expectValid(action);
        expect(action.action).not.toBe('restart');
      }
    });

    it('keeps answering valid actions to a crash loop', () => {
      const strategy = make();
      for (let i = 0; i < 50; i++) {
        expectValid(
          strategy.onAgentFailure(agentFailure({ recentFailures: i + 1, now: 1_000_000 + i })),
        );
      }
    });

    it('admits agents it knows nothing of, and again once they are removed', () => {
      const strategy = make();
      if (strategy.admits === undefined) return;
      expect(strategy.admits('never-seen', 1_000_000)).toBe(true);
      for (let i = 0; i < 20; i++) strategy.onTaskOutcome?.('a1', false, 1_000_000 + i);
      strategy.agentRemoved?.('a1');
      expect(strategy.admits('a1', 1_000_100)).toBe(true);
    });

    it('accepts outcomes and removals of agents it never saw', () => {
      const strategy = make();
      expect(() => {
        strategy.onTaskOutcome?.('ghost', true, 1_000_000);
        strategy.onTaskOutcome?.('ghost', false, 1_000_000);
        strategy.agentRemoved?.('ghost');
        strategy.agentRemoved?.('never-seen');
      }).not.toThrow();
    });

    it('property: deterministic, valid and never restarting remote agents, whatever happens', () => {
      fc.assert(
        fc.property(arbSteps, (steps) => {
          const first = play(make(), steps);
          // Two fresh strategies fed the same history answer the same.
          expect(play(make(), steps)).toEqual(first);
          steps.forEach((step, i) => {
            const answer = first[i];
            if (step.kind === 'failure') {
              expect(invalidActionReason(answer)).toBeUndefined();
              if (step.failure.remote)
                expect((answer as RecoveryAction).action).not.toBe('restart');
            } else if (step.kind === 'admits' && make().admits !== undefined) {
              expect(typeof answer).toBe('boolean');
            }
          });
        }),
        { numRuns: 150 },
      );
    });
  });
}
