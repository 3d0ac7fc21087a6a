/**
 * The conformance suite of the `LoadBalancer` interface. Every strategy's test calls
 * `testLoadBalancer(name, make, options)`, then adds its own cases. It depends only on the
 * public interface: candidates are plain objects, and a pick is checked by identity.
 */
import type {
  AgentCandidate,
  HealthMetrics,
  LoadBalancer,
  SelectContext,
  TaskRecord,
} from '@switchboard/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

/** What a strategy may legitimately do that the common rules would otherwise forbid. */
export interface LoadBalancerSuiteOptions {
  /**
   * The strategy pins sessions: it may return a busy candidate that it returned before for
   * the same `sessionKey` (the task then waits for that agent).
   */
  pins?: boolean;
  /**
   * As tasks pile up on the chosen agents, every free candidate is chosen at some point.
   * Default `true`; set `false` for a strategy that legitimately concentrates work.
   */
  spreads?: boolean;
}

/** Fields of a test candidate to set; `metrics` may be partial. */
export type CandidateOverrides = Partial<Omit<AgentCandidate, 'metrics'>> & {
  metrics?: Partial<HealthMetrics>;
};

/**
 * A candidate with the `llm` capability, free and idle unless `overrides` say otherwise
 * (`freeSlots` follows from `maxConcurrency - activeTasks` when not given).
 */
export function candidate(id: string, overrides: CandidateOverrides = {}): AgentCandidate {
  const maxConcurrency = overrides.maxConcurrency ?? 4;
  const activeTasks =
    overrides.activeTasks ?? maxConcurrency - (overrides.freeSlots ?? maxConcurrency);
  return {
    id,
    name: id,
    role: 'worker',
    version: '1.0.0',
    capabilities: [{ name: 'llm', type: 'llm', version: '1' }],
    weight: 1,
    remote: false,
    ...overrides,
    metrics: {
      cpuUsage: 0,
      memoryUsage: 0,
      queueSize: 0,
      errorRate: 0,
      latencyMs: 10,
      ...overrides.metrics,
    },
    maxConcurrency,
    activeTasks,
    freeSlots: overrides.freeSlots ?? Math.max(0, maxConcurrency - activeTasks),
  };
}

/** The same candidate with one more task on it (what dispatching to it does). */
export function withOneMoreTask(c: AgentCandidate): AgentCandidate {
  return { ...c, activeTasks: c.activeTasks + 1, freeSlots: Math.max(0, c.freeSlots - 1) };
}

let taskSeq = 0;

/** A select context for a fresh `llm` task; `task` overrides fields (e.g. `sessionKey`). */
export function selectContext(task: Partial<TaskRecord> = {}, now = 1_000_000): SelectContext {
  taskSeq++;
  return {
    now,
    task: {
      id: `task-${taskSeq}`,
      capability: 'llm',
      payload: null,
      priority: 'normal',
      status: 'queued',
      attempts: 0,
      maxAttempts: 3,
      timeoutMs: 30_000,
      availableAt: now,
      createdAt: now,
      updatedAt: now,
      ...task,
    },
  };
}

const freeze = (list: AgentCandidate[]): readonly AgentCandidate[] =>
  Object.freeze(list.map((c) => Object.freeze({ ...c, metrics: Object.freeze({ ...c.metrics }) })));

/**
 * Runs the rules every load balancer must follow against strategies made by `make` (a fresh
 * one per test).
 */
export function testLoadBalancer(
  name: string,
  make: () => LoadBalancer,
  options: LoadBalancerSuiteOptions = {},
): void {
  const { pins = false, spreads = true } = options;

  describe(`LoadBalancer conformance: ${name}`, () => {
    it('has a non-empty name', () => {
      const lb = make();
      expect(typeof lb.name).toBe('string');
      expect(lb.name.length).toBeGreaterThan(0);
    });

    it('returns undefined for an empty candidate list, with or without a session', () => {
      const lb = make();
      expect(lb.select([], selectContext())).toBeUndefined();
      expect(lb.select([], selectContext({ sessionKey: 'user-1' }))).toBeUndefined();
    });

    it('returns undefined when every candidate is busy', () => {
      const lb = make();
      const busy = freeze([candidate('a', { freeSlots: 0 }), candidate('b', { freeSlots: 0 })]);
      for (let i = 0; i < 5; i++) expect(lb.select(busy, selectContext())).toBeUndefined();
      expect(lb.select(busy, selectContext({ sessionKey: 'never-seen' }))).toBeUndefined();
    });

    it('never picks a busy candidate, and picks one of those listed', () => {
      const lb = make();
      const list = freeze([
        candidate('busy-1', { freeSlots: 0, metrics: { latencyMs: 0 } }),
        candidate('free-1', { activeTasks: 3, maxConcurrency: 4 }),
        candidate('busy-2', { freeSlots: 0, weight: 100 }),
        candidate('free-2', { activeTasks: 0, maxConcurrency: 8 }),
      ]);
      for (let i = 0; i < 50; i++) {
        const pick = lb.select(list, selectContext());
        expect(pick).toBeDefined();
        expect(list).toContain(pick);
        expect(pick!.freeSlots).toBeGreaterThan(0);
      }
    });

    it('picks the only free candidate', () => {
      const lb = make();
      const list = freeze([
        candidate('a', { freeSlots: 0 }),
        candidate('b', { freeSlots: 1, maxConcurrency: 1, activeTasks: 0 }),
      ]);
      expect(lb.select(list, selectContext())?.id).toBe('b');
    });

    it.runIf(spreads)('spreads load: every free candidate is chosen as work piles up', () => {
      const lb = make();
      let list = ['a', 'b', 'c', 'd'].map((id) => candidate(id, { maxConcurrency: 1000 }));
      const chosen = new Map<string, number>();
      for (let i = 0; i < 200; i++) {
        const pick = lb.select(freeze(list), selectContext());
        expect(pick).toBeDefined();
        chosen.set(pick!.id, (chosen.get(pick!.id) ?? 0) + 1);
        list = list.map((c) => (c.id === pick!.id ? withOneMoreTask(c) : c));
      }
      expect([...chosen.keys()].sort()).toEqual(['a', 'b', 'c', 'd']);
    });

    it('survives the candidate list changing between calls', () => {
      const lb = make();
      const lists = [
        ['a', 'b', 'c'],
        ['c', 'a'],
        ['d', 'e', 'a', 'b'],
        ['e'],
        [],
        ['b', 'f', 'g', 'd', 'c', 'a'],
      ];
      for (let round = 0; round < 3; round++) {
        let previous: string[] = [];
        for (const ids of lists) {
          for (const gone of previous.filter((id) => !ids.includes(id))) lb.agentRemoved?.(gone);
          const list = freeze(ids.map((id) => candidate(id)));
          for (let i = 0; i < 4; i++) {
            const pick = lb.select(list, selectContext({ sessionKey: `s${i % 2}` }));
            if (ids.length === 0) expect(pick).toBeUndefined();
            else expect(list).toContain(pick);
          }
          previous = ids;
        }
      }
    });

    it('accepts agentRemoved for agents it never saw', () => {
      const lb = make();
      expect(() => lb.agentRemoved?.('never-seen')).not.toThrow();
      expect(lb.select(freeze([candidate('a')]), selectContext())?.id).toBe('a');
    });

    it('property: the pick is a free member of the list, or undefined iff none is free', () => {
      const arbCandidate = fc
        .record({
          id: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'),
          maxConcurrency: fc.integer({ min: 1, max: 4 }),
          used: fc.integer({ min: 0, max: 4 }),
          latencyMs: fc.integer({ min: 0, max: 500 }),
          errorRate: fc.double({ min: 0, max: 1, noNaN: true }),
          weight: fc.integer({ min: 1, max: 5 }),
          version: fc.constantFrom('1', '2', '2.1', '3.0.1'),
        })
        .map((r) =>
          candidate(r.id, {
            maxConcurrency: r.maxConcurrency,
            activeTasks: Math.min(r.used, r.maxConcurrency),
            weight: r.weight,
            capabilities: [{ name: 'llm', type: 'llm', version: r.version }],
            metrics: { latencyMs: r.latencyMs, errorRate: r.errorRate },
          }),
        );
      const arbStep = fc.oneof(
        fc.record({
          kind: fc.constant('select' as const),
          list: fc.uniqueArray(arbCandidate, { selector: (c) => c.id, maxLength: 6 }),
          sessionKey: fc.option(fc.constantFrom('s1', 's2', 's3'), { nil: undefined }),
        }),
        fc.record({ kind: fc.constant('remove' as const), id: fc.constantFrom('a', 'b', 'c') }),
      );
      fc.assert(
        fc.property(fc.array(arbStep, { minLength: 1, maxLength: 25 }), (steps) => {
          const lb = make();
          // The agent each session was last given: the only busy pick a pinning strategy may make.
          const pinned = new Map<string, string>();
          for (const step of steps) {
            if (step.kind === 'remove') {
              lb.agentRemoved?.(step.id);
              for (const [key, id] of pinned) if (id === step.id) pinned.delete(key);
              continue;
            }
            const list = freeze(step.list);
            const ctx = selectContext(
              step.sessionKey === undefined ? {} : { sessionKey: step.sessionKey },
            );
            const pick = lb.select(list, ctx);
            const anyFree = list.some((c) => c.freeSlots > 0);
            if (pick === undefined) {
              expect(anyFree).toBe(false);
              continue;
            }
            expect(list).toContain(pick);
            if (pick.freeSlots <= 0) {
              expect(pins && step.sessionKey !== undefined).toBe(true);
              expect(pinned.get(step.sessionKey!)).toBe(pick.id);
            }
            if (step.sessionKey !== undefined) pinned.set(step.sessionKey, pick.id);
          }
        }),
        { numRuns: 200 },
      );
    });
  });
}
