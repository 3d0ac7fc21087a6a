import { describe, expect, it } from 'vitest';
import {
  type AgentInitContext,
  BaseAgent,
  DEFAULT_AGENT_CONFIG,
  defineAgent,
  isAgentClass,
  isAgentDefinition,
  type TaskContext,
} from '../../src/agent/index.js';
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

const handle = (x: number) => x * 2;

describe('defineAgent', () => {
  it('returns a frozen definition with defaults, normalized capabilities and resolved config', () => {
    const def = defineAgent({
      name: 'doubler',
      capabilities: ['math', { name: 'llm', version: '2' }],
      config: { maxConcurrency: 3 },
      handle,
    });
    expect(def).toMatchObject({ name: 'doubler', role: 'worker', version: '1' });
    expect(def.capabilities).toEqual([
      { name: 'math', type: 'math', version: '1' },
      { name: 'llm', type: 'llm', version: '2' },
    ]);
    expect(def.config).toEqual({ ...DEFAULT_AGENT_CONFIG, maxConcurrency: 3 });
    expect(Object.isFrozen(def) && Object.isFrozen(def.capabilities)).toBe(true);
    expect(isAgentDefinition(def)).toBe(true);
    expect(defineAgent(def)).toBe(def);
    expect(def.handle(21, {} as TaskContext)).toBe(42);
  });

  it('keeps the spec as `this` in hooks', async () => {
    const spec = {
      name: 'stateful',
      capabilities: ['x'],
      prefix: 'hello ',
      handle(this: { prefix: string }, who: string) {
        return this.prefix + who;
      },
    };
    const def = defineAgent(spec);
    expect(await def.handle('bob', {} as TaskContext)).toBe('hello bob');
  });

  it.each([
    [{ capabilities: ['x'], handle }, 'name', /name must be a non-empty string/],
    [{ name: 'a', capabilities: [], handle }, 'capabilities', /at least one capability/],
    [{ name: 'a', handle }, 'capabilities', /at least one capability/],
    [{ name: 'a', capabilities: ['x'] }, 'handle', /"a": handle must be a function/],
    [{ name: 'a', capabilities: ['x'], handle, init: 'yes' }, 'init', /init must be a function/],
    [
      { name: 'a', capabilities: ['x'], handle, checkTask: {} },
      'checkTask',
      /checkTask must be a function/,
    ],
    [
      { name: 'a', capabilities: ['x'], handle, role: 'boss' },
      'role',
      /role must be one of worker/,
    ],
    [
      { name: 'a', capabilities: ['x'], handle, version: 'one' },
      'version',
      /"one" is not a version/,
    ],
    [{ name: 'a', capabilities: ['x', ''], handle }, 'capabilities[1]', /capabilities\[1\]: name/],
    [
      { name: 'a', capabilities: ['x', { name: 'x', version: '1' }], handle },
      'capabilities[1]',
      /repeats x@1/,
    ],
    [
      { name: 'a', capabilities: ['x'], handle, config: { maxConcurrency: 0 } },
      'config.maxConcurrency',
      /maxConcurrency/,
    ],
    [
      { name: 'a', capabilities: ['x'], handle, maxConcurrency: 4 },
      'maxConcurrency',
      /maxConcurrency is a config setting: write it as config: \{ maxConcurrency \}/,
    ],
  ])('rejects %j naming %s', (spec, field, message) => {
    const error = failure(() => defineAgent(spec as never));
    expect(error.code).toBe('invalid_config');
    expect(error.message).toMatch(message);
    expect(error.details).toMatchObject({ field });
  });

  it('rejects a non-object', () => {
    expect(failure(() => defineAgent(null as never)).message).toMatch(/expected an object/);
  });
});

class Greeter extends BaseAgent<string, string> {
  readonly name = 'greeter';
  readonly capabilities = [{ name: 'greet', type: 'llm_processing', version: '2.1' }];
  override readonly role = 'gateway' as const;
  override readonly config = { maxConcurrency: 2 };
  greeting = 'hi';
  inits: string[] = [];
  stopped = false;

  handle(who: string, ctx: TaskContext) {
    return `${this.greeting} ${who} (attempt ${ctx.attempt})`;
  }
  override init(ctx: AgentInitContext) {
    this.inits.push(ctx.agentId);
    this.greeting = 'hello';
  }
  override shutdown() {
    this.stopped = true;
  }
  override healthCheck() {
    return { healthy: true, cpuUsage: 0.5 };
  }
}

class Minimal extends BaseAgent<number, number> {
  readonly name = 'minimal';
  readonly capabilities = ['m'];
  handle(n: number) {
    return n + 1;
  }
}

describe('BaseAgent', () => {
  it('turns a subclass into a definition whose hooks run on the instance', async () => {
    const greeter = new Greeter();
    const def = greeter.toDefinition();
    expect(def).toMatchObject({ name: 'greeter', role: 'gateway', version: '1' });
    expect(def.capabilities).toEqual([{ name: 'greet', type: 'llm_processing', version: '2.1' }]);
    expect(def.config.maxConcurrency).toBe(2);
    await def.init?.({ agentId: 'a1', name: 'greeter', config: def.config, fail: () => {} });
    expect(greeter.inits).toEqual(['a1']);
    expect(await def.handle('ann', { attempt: 2 } as TaskContext)).toBe('hello ann (attempt 2)');
    expect(await def.healthCheck?.({ agentId: 'a1', name: 'greeter' })).toEqual({
      healthy: true,
      cpuUsage: 0.5,
    });
    await def.shutdown?.({ agentId: 'a1', name: 'greeter' });
    expect(greeter.stopped).toBe(true);
  });

  it('leaves optional hooks out when the subclass has none', () => {
    const def = new Minimal().toDefinition();
    expect(def.init).toBeUndefined();
    expect(def.shutdown).toBeUndefined();
    expect(def.healthCheck).toBeUndefined();
    expect(def.handle(1, {} as TaskContext)).toBe(2);
  });

  it('validates like defineAgent', () => {
    class Empty extends Minimal {
      override readonly capabilities: string[] = [];
    }
    expect(failure(() => new Empty().toDefinition()).message).toMatch(
      /agent "minimal": capabilities must list at least one/,
    );
  });

  it('tells classes from instances and other functions', () => {
    expect(isAgentClass(Greeter)).toBe(true);
    expect(isAgentClass(new Greeter())).toBe(false);
    expect(isAgentClass(() => 1)).toBe(false);
    expect(isAgentClass(BaseAgent)).toBe(false);
  });
});
