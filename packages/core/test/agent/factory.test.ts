import { describe, expect, it } from 'vitest';
import { Agent, AgentFactory, BaseAgent, defineAgent } from '../../src/agent/index.js';
import { SwitchboardError } from '../../src/errors.js';

function failure(fn: () => unknown): SwitchboardError {
  try {
    fn();
  } catch (e) {
    if (e instanceof SwitchboardError) return e;
    throw e;
  }
  throw new Error('expected a SwitchboardError');
}

const llm = (name: string, version: string, extra: object = {}) =>
  defineAgent({
    name,
    capabilities: [{ name: 'llm', version }],
    handle: () => name,
    ...extra,
  });

class Browser extends BaseAgent<string, string> {
  readonly name: string = 'browser';
  readonly capabilities = [{ name: 'browser', version: '2' }];
  override readonly role = 'gateway' as const;
  handle(url: string) {
    return `visited ${url}`;
  }
}

describe('AgentFactory', () => {
  it('registers definitions, specs, BaseAgent instances and classes, and creates idle agents', async () => {
    const factory = new AgentFactory();
    factory.register(llm('small', '1'));
    factory.register({ name: 'spec', capabilities: ['x'], handle: () => 'spec' });
    factory.register(Browser);
    class Other extends Browser {
      override readonly name = 'other-browser';
    }
    factory.register(new Other());
    expect(factory.names()).toEqual(['small', 'spec', 'browser', 'other-browser']);
    expect(factory.has('spec')).toBe(true);
    expect(factory.get('browser')?.role).toBe('gateway');

    const agent = factory.create<string, string>('browser', {
      id: 'b1',
      config: { maxConcurrency: 3 },
    });
    expect(agent).toBeInstanceOf(Agent);
    expect([agent.id, agent.state, agent.config.maxConcurrency]).toEqual(['b1', 'idle', 3]);
    await agent.start();
    expect(await agent.execute('example.org')).toBe('visited example.org');
    expect(factory.create('browser').id).not.toBe('b1');
  });

  it('refuses a second definition of the same name, and invalid ones', () => {
    const factory = new AgentFactory();
    factory.register(llm('a', '1'));
    expect(failure(() => factory.register(llm('a', '2'))).code).toBe('conflict');
    const invalid = failure(() =>
      factory.register({ name: 'b', capabilities: [], handle: () => 1 }),
    );
    expect(invalid.code).toBe('invalid_config');
    expect(factory.names()).toEqual(['a']);
    expect(factory.unregister('a')).toBe(true);
    expect(factory.unregister('a')).toBe(false);
    factory.register(llm('a', '2'));
    expect(factory.get('a')?.capabilities[0]?.version).toBe('2');
  });

  it('answers an unknown name with not_found listing the known names', () => {
    const factory = new AgentFactory();
    expect(failure(() => factory.create('x')).message).toBe(
      'agent factory: no agent named "x" (none registered)',
    );
    factory.register(llm('a', '1'));
    factory.register(Browser);
    const error = failure(() => factory.create('x'));
    expect(error.code).toBe('not_found');
    expect(error.message).toBe('agent factory: no agent named "x" (known: a, browser)');
    expect(error.details).toMatchObject({ known: ['a', 'browser'] });
  });

  it('picks by capability the best version in range, then the role, then the agent version', () => {
    const factory = new AgentFactory();
    factory.register(llm('v1', '1.4'));
    factory.register(llm('v2', '2.0.1'));
    factory.register(llm('v21', '2.1'));
    factory.register(llm('v3-coord', '3', { role: 'coordinator' }));
    factory.register(llm('v21-newer', '2.1', { version: '5' }));
    factory.register(llm('v21-newer-too', '2.1', { version: '5' }));
    expect(factory.createFor({ capability: 'llm' }).name).toBe('v3-coord');
    expect(factory.createFor({ capability: 'llm', versionRange: '^2' }).name).toBe('v21-newer');
    expect(factory.createFor({ capability: 'llm', versionRange: '~2.0' }).name).toBe('v2');
    expect(factory.createFor({ capability: 'llm', versionRange: '<2' }).name).toBe('v1');
    expect(factory.createFor({ capability: 'llm', role: 'worker' }).name).toBe('v21-newer');
    expect(factory.find({ capability: 'llm', role: 'coordinator', versionRange: '^3' })?.name).toBe(
      'v3-coord',
    );
    expect(factory.find({ capability: 'llm', role: 'gateway' })).toBeUndefined();
  });

  it('answers an unmatched query with not_found naming the query and the known names', () => {
    const factory = new AgentFactory();
    factory.register(llm('v1', '1'));
    const error = failure(() =>
      factory.createFor({ capability: 'llm', versionRange: '^2', role: 'monitor' }),
    );
    expect(error.code).toBe('not_found');
    expect(error.message).toBe(
      'agent factory: no agent has capability "llm ^2" with role monitor (known: v1)',
    );
    expect(failure(() => factory.createFor({ capability: 'ocr' })).message).toBe(
      'agent factory: no agent has capability "ocr" (known: v1)',
    );
    expect(failure(() => factory.createFor({ capability: 'llm', versionRange: '!' })).code).toBe(
      'invalid_request',
    );
  });

  it('keeps definitions per factory instance', () => {
    const a = new AgentFactory();
    const b = new AgentFactory();
    a.register(llm('only-in-a', '1'));
    expect(b.has('only-in-a')).toBe(false);
    expect(b.find({ capability: 'llm' })).toBeUndefined();
  });
});
