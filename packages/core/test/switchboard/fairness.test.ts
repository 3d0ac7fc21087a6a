import { describe, expect, it } from 'vitest';
import { defineAgent } from '../../src/agent/definition.js';
import { createMemoryBackend } from '../../src/backends/memory/memory-backend.js';
import type { Backend } from '../../src/contracts/backend.js';
import type { SwitchboardError } from '../../src/errors.js';
import { createSwitchboard } from '../../src/switchboard.js';

function errorOf(run: () => unknown): SwitchboardError {
  try {
    run();
  } catch (error) {
    return error as SwitchboardError;
  }
  throw new Error('expected an error');
}

async function rejectionOf(promise: Promise<unknown>): Promise<SwitchboardError> {
  try {
    await promise;
  } catch (error) {
    return error as SwitchboardError;
  }
  throw new Error('expected a rejection');
}

describe('the fairness option', () => {
  it('refuses unknown keys, naming the known ones, and values out of range', () => {
    const unknown = errorOf(() => createSwitchboard({ fairness: { weight: { a: 2 } } as never }));
    expect(unknown.code).toBe('invalid_config');
    expect(unknown.message).toContain('fairness.weight');
    expect(unknown.message).toContain('known: defaultWeight, weights, maxConcurrency');
    const nested = errorOf(() =>
      createSwitchboard({ fairness: { maxConcurrency: { perKey: {} } } as never }),
    );
    expect(nested.message).toContain('fairness.maxConcurrency.perKey');
    expect(nested.message).toContain('known: default, byKey, byCapability');
    const weight = errorOf(() => createSwitchboard({ fairness: { weights: { a: 1.5 } } }));
    expect(weight.message).toContain('fairness.weights.a must be an integer in 1..10000');
    const cap = errorOf(() =>
      createSwitchboard({ fairness: { maxConcurrency: { byCapability: { llm: 0 } } } }),
    );
    expect(cap.message).toContain(
      'fairness.maxConcurrency.byCapability.llm must be an integer ≥ 1',
    );
  });

  it('is read and changed at run time through sb.fairness', async () => {
    const sb = createSwitchboard({
      fairness: { defaultWeight: 2, weights: { gold: 5 }, maxConcurrency: { default: 3 } },
    });
    expect(sb.fairness.enforced).toBe(true);
    // Set before the start: handed to the backend with the policy when it opens.
    await sb.fairness.set('silver', { weight: 3 });
    await sb.start();
    expect(await sb.fairness.get('gold')).toEqual({
      key: 'gold',
      weight: 5,
      maxConcurrency: 3,
      leased: 0,
      enforced: true,
    });
    expect(await sb.fairness.get('silver')).toMatchObject({ weight: 3 });
    await sb.fairness.set('gold', { maxConcurrency: 10 });
    expect(await sb.fairness.get('gold')).toMatchObject({ weight: 2, maxConcurrency: 10 });
    await sb.fairness.set('gold', {});
    expect(await sb.fairness.get('gold')).toMatchObject({ weight: 2, maxConcurrency: 3 });
    expect((await rejectionOf(sb.fairness.set('gold', { weight: 0 }))).code).toBe(
      'invalid_request',
    );
    expect((await rejectionOf(sb.fairness.set('', { weight: 1 }))).code).toBe('invalid_request');
    expect((await rejectionOf(sb.fairness.set('gold', { cap: 1 } as never))).message).toContain(
      'known: weight, maxConcurrency',
    );
    await sb.shutdown();
  });

  it('says so when the backend does not dispatch by it', async () => {
    const memory = createMemoryBackend();
    // The memory backend without its fairness part: a backend that only stores the key.
    const plain = new Proxy(memory, {
      get(target, key) {
        if (key === 'fairness') return undefined;
        const value = Reflect.get(target, key, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    }) as Backend;
    const sb = createSwitchboard({ backend: plain, fairness: { weights: { a: 2 } } });
    expect(sb.fairness.enforced).toBe(false);
    await sb.start();
    expect(await sb.fairness.get('a')).toEqual({ key: 'a', weight: 2, enforced: false });
    await sb.shutdown();
  });
});

describe('fair dispatch in a Switchboard', () => {
  it("serves a quiet key's tasks between a noisy key's, not after them", async () => {
    const started: string[] = [];
    const worker = defineAgent({
      name: 'worker',
      capabilities: ['crawl'],
      config: { maxConcurrency: 1 },
      handle: (payload: string) => {
        started.push(payload);
        return payload;
      },
    });
    const sb = createSwitchboard({ agents: [worker] });
    const noisy = await sb.submitMany(
      Array.from({ length: 20 }, (_, i) => ({
        capability: 'crawl',
        payload: `noisy-${i}`,
        fairnessKey: 'noisy',
      })),
    );
    const quiet = await sb.submitMany(
      ['quiet-0', 'quiet-1'].map((payload) => ({ capability: 'crawl', payload, fairnessKey: 'q' })),
    );
    expect((await sb.get(quiet[0]!.id))?.fairnessKey).toBe('q');
    await sb.start();
    await Promise.all([...noisy, ...quiet].map((h) => h.result));
    expect(started.slice(0, 4)).toEqual(['noisy-0', 'quiet-0', 'noisy-1', 'quiet-1']);
    await sb.shutdown();
  });

  it("never runs more of a key's tasks at once than its cap", async () => {
    let running = 0;
    let most = 0;
    const worker = defineAgent({
      name: 'worker',
      capabilities: ['llm'],
      config: { maxConcurrency: 8 },
      handle: async (key: string) => {
        if (key === 'a') most = Math.max(most, ++running);
        await new Promise((resolve) => setTimeout(resolve, 2));
        if (key === 'a') running--;
        return key;
      },
    });
    const sb = createSwitchboard({
      agents: [worker],
      fairness: { maxConcurrency: { byKey: { a: 2 } } },
    });
    await sb.start();
    const results = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        sb.run({
          capability: 'llm',
          payload: i % 3 === 0 ? 'b' : 'a',
          fairnessKey: i % 3 === 0 ? 'b' : 'a',
        }),
      ),
    );
    expect(results).toHaveLength(24);
    expect(most).toBe(2);
    expect((await sb.fairness.get('a')).leased).toBe(0);
    await sb.shutdown();
  });
});
