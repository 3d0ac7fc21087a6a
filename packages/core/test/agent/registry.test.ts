import { describe, expect, it, vi } from 'vitest';
import {
  AgentRegistry,
  type AgentRole,
  type AgentState,
  type Capability,
  type CapabilityInput,
  normalizeCapability,
  type RegisteredAgent,
} from '../../src/agent/index.js';
import { isSwitchboardError } from '../../src/errors.js';

interface TestAgent extends RegisteredAgent {
  capabilities: Capability[];
  state: AgentState;
  role: AgentRole;
  weight: number;
}

const make = (id: string, caps: CapabilityInput[], role: AgentRole = 'worker'): TestAgent => ({
  id,
  name: `agent-${id}`,
  role,
  capabilities: caps.map((c) => normalizeCapability(c)),
  state: 'ready',
  weight: 1,
});

const ids = (agents: readonly RegisteredAgent[]) => agents.map((a) => a.id);

describe('AgentRegistry', () => {
  it('registers, finds, lists and deregisters agents, keeping the richer type', () => {
    const registry = new AgentRegistry<TestAgent>();
    const a = make('a', ['llm']);
    registry.register(a);
    registry.register(make('b', ['browser'], 'gateway'));
    expect(registry.size).toBe(2);
    expect(registry.has('a')).toBe(true);
    expect(registry.get('a')?.weight).toBe(1);
    expect(ids(registry.all())).toEqual(['a', 'b']);
    expect(ids(registry.byRole('gateway'))).toEqual(['b']);
    expect(registry.deregister('a')).toBe(true);
    expect(registry.deregister('a')).toBe(false);
    expect(registry.has('a')).toBe(false);
    expect(registry.discover('llm')).toEqual([]);
    expect(registry.byRole('worker')).toEqual([]);
  });

  it('refuses a duplicate id with conflict and keeps the first agent', () => {
    const registry = new AgentRegistry<TestAgent>();
    const first = make('a', ['llm']);
    registry.register(first);
    let error: unknown;
    try {
      registry.register(make('a', ['browser']));
    } catch (e) {
      error = e;
    }
    expect(isSwitchboardError(error, 'conflict')).toBe(true);
    expect((error as Error).message).toContain('"a"');
    expect(registry.get('a')).toBe(first);
    expect(registry.discover('browser')).toEqual([]);
  });

  it('discovers holders of a capability within a version range', () => {
    const registry = new AgentRegistry<TestAgent>();
    registry.register(make('v1', [{ name: 'llm', version: '1.4.0' }]));
    registry.register(make('v2', [{ name: 'llm', version: '2' }, 'browser']));
    registry.register(make('v21', [{ name: 'llm', version: '2.1' }]));
    registry.register(
      make('both', [
        { name: 'llm', version: '1' },
        { name: 'llm', version: '3' },
      ]),
    );
    expect(ids(registry.discover('llm'))).toEqual(['v1', 'v2', 'v21', 'both']);
    expect(ids(registry.discover('llm', '^2'))).toEqual(['v2', 'v21']);
    expect(ids(registry.discover('llm', '~2.1'))).toEqual(['v21']);
    expect(ids(registry.discover('llm', '>=1.2 <2'))).toEqual(['v1']);
    expect(ids(registry.discover('llm', '3 || =1.0.0'))).toEqual(['both']);
    expect(ids(registry.discover('llm', '>9'))).toEqual([]);
    expect(ids(registry.discover('browser', '1'))).toEqual(['v2']);
    expect(registry.discover('unknown', '1')).toEqual([]);
  });

  it('rejects an invalid range even when nobody holds the capability', () => {
    const registry = new AgentRegistry<TestAgent>();
    expect(() => registry.discover('nobody', '^^1')).toThrow(/invalid version range/);
  });

  it('sees a newly registered agent after a cached discovery, and forgets a deregistered one', () => {
    const registry = new AgentRegistry<TestAgent>();
    registry.register(make('a', [{ name: 'llm', version: '2' }]));
    const first = registry.discover('llm', '^2');
    expect(registry.discover('llm', '^2')).toBe(first); // served from the cache
    registry.register(make('b', [{ name: 'llm', version: '2.3' }]));
    expect(ids(registry.discover('llm', '^2'))).toEqual(['a', 'b']);
    registry.deregister('a');
    expect(ids(registry.discover('llm', '^2'))).toEqual(['b']);
    registry.deregister('b');
    expect(registry.discover('llm', '^2')).toEqual([]);
    registry.register(make('c', [{ name: 'llm', version: '2' }]));
    expect(ids(registry.discover('llm', '^2'))).toEqual(['c']);
  });

  it('keeps cached results of unrelated capabilities when one capability changes', () => {
    const registry = new AgentRegistry<TestAgent>();
    registry.register(make('a', ['llm']));
    registry.register(make('b', ['browser']));
    const browsers = registry.discover('browser');
    const llms = registry.discover('llm');
    registry.register(make('c', ['llm']));
    expect(registry.discover('browser')).toBe(browsers);
    expect(registry.discover('llm')).not.toBe(llms);
  });

  it('re-indexes an agent on touch after its capabilities and role changed', () => {
    const registry = new AgentRegistry<TestAgent>();
    const agent = make('a', [{ name: 'llm', version: '1' }]);
    registry.register(agent);
    expect(ids(registry.discover('llm', '^1'))).toEqual(['a']);
    agent.capabilities = [
      normalizeCapability({ name: 'llm', version: '2' }),
      normalizeCapability('ocr'),
    ];
    agent.role = 'coordinator';
    registry.touch('a');
    expect(registry.discover('llm', '^1')).toEqual([]);
    expect(ids(registry.discover('llm', '^2'))).toEqual(['a']);
    expect(ids(registry.discover('ocr'))).toEqual(['a']);
    expect(ids(registry.byRole('coordinator'))).toEqual(['a']);
    expect(registry.byRole('worker')).toEqual([]);
    agent.capabilities = [normalizeCapability('ocr')];
    registry.touch('a');
    expect(registry.discover('llm')).toEqual([]);
    expect(() => registry.touch('ghost')).toThrow(/"ghost" is not registered/);
  });

  it('filters by a predicate on every call, without caching the filtered result', () => {
    const registry = new AgentRegistry<TestAgent>();
    const a = make('a', ['llm']);
    const b = make('b', ['llm']);
    registry.register(a);
    registry.register(b);
    const live = (x: TestAgent) => x.state === 'ready' || x.state === 'working';
    b.state = 'recovering';
    expect(ids(registry.discover('llm', undefined, live))).toEqual(['a']);
    b.state = 'ready'; // no touch: a state change alone must still show
    expect(ids(registry.discover('llm', undefined, live))).toEqual(['a', 'b']);
    expect(ids(registry.discover('llm'))).toEqual(['a', 'b']);
  });

  it('returns frozen results so a caller cannot corrupt the cache', () => {
    const registry = new AgentRegistry<TestAgent>();
    registry.register(make('a', ['llm']));
    const found = registry.discover('llm') as TestAgent[];
    expect(() => found.push(make('x', ['llm']))).toThrow(TypeError);
    expect(ids(registry.discover('llm'))).toEqual(['a']);
  });

  it('finds the rare holders among 10,000 agents through the index, not a scan', () => {
    const registry = new AgentRegistry<TestAgent>();
    for (let i = 0; i < 10_000; i++) {
      const caps: CapabilityInput[] =
        i % 2500 === 7 ? ['common', { name: 'rare', version: '2' }] : ['common'];
      registry.register(make(`a${i}`, caps));
    }
    // Discovery of "rare" must never read another agent's capabilities: make every
    // non-holder's capability list throw when read.
    for (const agent of registry.all()) {
      if (!agent.capabilities.some((c) => c.name === 'rare')) {
        Object.defineProperty(agent, 'capabilities', {
          get() {
            throw new Error(`scanned ${agent.id}`);
          },
        });
      }
    }
    expect(ids(registry.discover('rare', '^2'))).toEqual(['a7', 'a2507', 'a5007', 'a7507']);
    expect(registry.discover('rare', '^3')).toEqual([]);
  });

  it('bounds the discovery cache and validates its size', () => {
    const registry = new AgentRegistry<TestAgent>({ cacheSize: 1 });
    registry.register(make('a', ['llm', 'ocr']));
    const llm = registry.discover('llm');
    registry.discover('ocr'); // evicts llm's entry
    const again = registry.discover('llm');
    expect(again).not.toBe(llm);
    expect(again).toEqual(llm);
    expect(() => new AgentRegistry({ cacheSize: 0 })).toThrow(/cacheSize must be an integer/);
  });

  it('emits registered, updated and deregistered events; a throwing listener is isolated', () => {
    const onListenerError = vi.fn();
    const registry = new AgentRegistry<TestAgent>({ onListenerError });
    const events: string[] = [];
    registry.onChange(() => {
      throw new Error('observer bug');
    });
    const off = registry.onChange((e) => events.push(`${e.type}:${e.agent.id}`));
    registry.register(make('a', ['llm']));
    registry.touch('a');
    registry.deregister('a');
    off();
    registry.register(make('b', ['llm']));
    expect(events).toEqual(['registered:a', 'updated:a', 'deregistered:a']);
    expect(onListenerError).toHaveBeenCalledTimes(4);
    expect(registry.has('b')).toBe(true);
  });
});
