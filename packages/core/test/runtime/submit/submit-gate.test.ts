import { describe, expect, it } from 'vitest';
import { defineAgent } from '../../../src/agent/definition.js';
import type { RateLimiter, TokenBucketOptions } from '../../../src/contracts/rate-limiter.js';
import { isSwitchboardError, type SwitchboardError } from '../../../src/errors.js';
import { SubmitGate } from '../../../src/runtime/submit/submit-gate.js';
import { createTokenBucket } from '../../../src/structures/token-bucket.js';
import { createSwitchboard } from '../../../src/switchboard.js';

/** A factory that records what it was asked for and wraps core's token bucket. */
function recording() {
  const made: { options: TokenBucketOptions; keys: string[] }[] = [];
  const createRateLimiter = (options: TokenBucketOptions): RateLimiter => {
    const inner = createTokenBucket(options);
    const entry = { options, keys: [] as string[] };
    made.push(entry);
    return {
      tryAcquire: (key, cost, now) => {
        entry.keys.push(key);
        return inner.tryAcquire(key, cost, now);
      },
      tryAcquireMany: (keys, costs, now) => inner.tryAcquireMany(keys, costs, now),
      reset: (key) => inner.reset(key),
      get keyCount() {
        return inner.keyCount;
      },
    };
  };
  return { made, createRateLimiter };
}

function thrown(fn: () => unknown): SwitchboardError {
  try {
    fn();
  } catch (err) {
    return err as SwitchboardError;
  }
  throw new Error('expected a throw');
}

describe('SubmitGate with createRateLimiter', () => {
  it('makes both limiters with the factory and checks submits through them', () => {
    const { made, createRateLimiter } = recording();
    const perSubmitter = { capacity: 2, refillPerSec: 1 };
    const perCapability = { capacity: 5, refillPerSec: 1 };
    const gate = new SubmitGate({}, { perSubmitter, perCapability }, () => 0, createRateLimiter);
    expect(made.map((m) => m.options)).toEqual([perSubmitter, perCapability]);
    // Limits of this process answer at once, without a promise.
    expect(gate.admit('alice', new Map([['echo', 2]]), 0)).toBeUndefined();
    expect(made[0]?.keys).toEqual(['alice']);
    expect(made[1]?.keys).toEqual(['echo']);
    const err = thrown(() => gate.admit('alice', new Map([['echo', 1]]), 0));
    expect(err.code).toBe('rate_limited');
    expect(err.details).toMatchObject({ scope: 'submitter', key: 'alice', retryAfterMs: 1000 });
  });

  it('uses limiter objects as given, without the factory', () => {
    const { made, createRateLimiter } = recording();
    const given = createTokenBucket({ capacity: 1, refillPerSec: 1 });
    const gate = new SubmitGate({}, { perCapability: given }, () => 0, createRateLimiter);
    expect(gate.admit(undefined, new Map([['echo', 1]]), 0)).toBeUndefined();
    expect(made).toHaveLength(0);
    expect(given.keyCount).toBe(1);
  });

  it('fails at configuration on a factory that is no function or makes no limiter', () => {
    const limits = { perSubmitter: { capacity: 1, refillPerSec: 1 } };
    const notFn = thrown(() => new SubmitGate({}, limits, () => 0, 'native' as never));
    expect(isSwitchboardError(notFn, 'invalid_config')).toBe(true);
    expect(notFn.message).toContain('createRateLimiter');
    const noLimiter = thrown(
      () =>
        new SubmitGate(
          {},
          limits,
          () => 0,
          () => ({}) as never,
        ),
    );
    expect(isSwitchboardError(noLimiter, 'invalid_config')).toBe(true);
    expect(noLimiter.message).toContain('rateLimits.perSubmitter');
  });

  it('is reached from createSwitchboard: a denying limiter rejects the submit', async () => {
    const denyAll = (): RateLimiter => ({
      tryAcquire: () => ({ allowed: false, retryAfterMs: 250, remaining: 0 }),
      tryAcquireMany: (keys) => new Float64Array(keys.length).fill(250),
      reset: () => {},
      keyCount: 0,
    });
    const echo = defineAgent({ name: 'echo', capabilities: ['echo'], handle: (p: unknown) => p });
    const sb = createSwitchboard({
      agents: [echo],
      rateLimits: { perCapability: { capacity: 1000, refillPerSec: 1000 } },
      createRateLimiter: denyAll,
    });
    const err = (await sb.submit({ capability: 'echo' }).catch((e: unknown) => e)) as Error;
    expect(isSwitchboardError(err, 'rate_limited')).toBe(true);
    expect((err as SwitchboardError).details).toMatchObject({ scope: 'capability', key: 'echo' });
    expect((await sb.stats()).tasks.submitted).toBe(0);
    await sb.shutdown();
  });
});

describe('SubmitGate on a backend with shared rate limiters', () => {
  /** A backend's shared buckets, standing in one process for what Redis shares between many. */
  function sharedBuckets() {
    const asked: string[] = [];
    const buckets = new Map<string, RateLimiter>();
    const factory = (name: string, options: TokenBucketOptions) => {
      asked.push(name);
      let bucket = buckets.get(name);
      if (bucket === undefined) {
        bucket = createTokenBucket(options);
        buckets.set(name, bucket);
      }
      const shared = bucket;
      return {
        acquire: async (key: string, cost: number, now: number) =>
          shared.tryAcquire(key, cost, now),
      };
    };
    return { asked, factory };
  }

  it('draws bucket-option limits from the backend, so two gates share one budget', async () => {
    const { asked, factory } = sharedBuckets();
    const limits = { perSubmitter: { capacity: 2, refillPerSec: 1 } };
    const local = recording();
    const a = new SubmitGate({}, limits, () => 0, local.createRateLimiter, factory);
    const b = new SubmitGate({}, limits, () => 0, local.createRateLimiter, factory);
    expect(asked).toEqual(['submit:perSubmitter', 'submit:perSubmitter']);
    expect(local.made).toEqual([]);
    expect(a.limited).toBe(true);
    await a.admit('alice', new Map([['x', 1]]), 0);
    await b.admit('alice', new Map([['x', 1]]), 0);
    const refused = await (b.admit('alice', new Map([['x', 1]]), 0) as Promise<void>).catch(
      (e: unknown) => e as SwitchboardError,
    );
    expect(isSwitchboardError(refused, 'rate_limited')).toBe(true);
    expect((refused as SwitchboardError).details).toMatchObject({
      scope: 'submitter',
      key: 'alice',
      retryAfterMs: 1000,
    });
    // Another submitter has a budget of its own; after a second, alice has one more.
    await a.admit('bob', new Map([['x', 1]]), 0);
    await a.admit('alice', new Map([['x', 1]]), 1000);
  });

  it('keeps a limiter object given as is in this process, beside a shared bucket', async () => {
    const { asked, factory } = sharedBuckets();
    const own = recording();
    const limiter = own.createRateLimiter({ capacity: 1, refillPerSec: 1 });
    const gate = new SubmitGate(
      {},
      { perSubmitter: { capacity: 5, refillPerSec: 1 }, perCapability: limiter },
      () => 0,
      createTokenBucket,
      factory,
    );
    expect(asked).toEqual(['submit:perSubmitter']);
    await gate.admit('alice', new Map([['x', 1]]), 0);
    expect(own.made[0]?.keys).toEqual(['x']);
    const refused = await (gate.admit('alice', new Map([['x', 1]]), 0) as Promise<void>).catch(
      (e: unknown) => e as SwitchboardError,
    );
    expect((refused as SwitchboardError).details).toMatchObject({ scope: 'capability', key: 'x' });
  });

  it('is used by a Switchboard whose backend offers shared limiters', async () => {
    const { asked, factory } = sharedBuckets();
    const backend = Object.assign(
      (await import('../../../src/backends/memory/memory-backend.js')).createMemoryBackend(),
      { sharedRateLimiter: factory },
    );
    const sb = createSwitchboard({
      backend,
      now: () => 0,
      rateLimits: { perCapability: { capacity: 1, refillPerSec: 1 } },
    });
    expect(asked).toEqual(['submit:perCapability']);
    await sb.submit({ capability: 'x' });
    const refused = await sb.submit({ capability: 'x' }).catch((e: unknown) => e);
    expect(isSwitchboardError(refused, 'rate_limited')).toBe(true);
    const batch = await sb.submitMany([{ capability: 'y' }, { capability: 'y' }]).catch((e) => e);
    expect((batch as SwitchboardError).details).toMatchObject({ scope: 'capability', key: 'y' });
    await sb.shutdown({ drain: false });
  });
});
