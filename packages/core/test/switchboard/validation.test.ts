import { describe, expect, it } from 'vitest';
import { defineAgent } from '../../src/agent/definition.js';
import { SwitchboardError } from '../../src/errors.js';
import type { SubmitInput } from '../../src/runtime/submit/task-input.js';
import { createSwitchboard } from '../../src/switchboard.js';

const sb = createSwitchboard({
  agents: [defineAgent({ name: 'e', capabilities: ['e'], handle: (p: unknown) => p })],
  defaultTimeoutMs: 5000,
  defaultMaxAttempts: 4,
});

async function rejection(input: unknown): Promise<SwitchboardError> {
  return (await sb.submit(input as SubmitInput).catch((e: unknown) => e)) as SwitchboardError;
}

describe('submit validation at the edge', () => {
  it.each([
    [{ capability: 'e', timeoutMs: 0 }, 'timeoutMs'],
    [{ capability: 'e', timeoutMs: 86_400_001 }, 'timeoutMs'],
    [{ capability: 'e', maxAttempts: 101 }, 'maxAttempts'],
    [{ capability: 'e', maxAttempts: 1.5 }, 'maxAttempts'],
    [{ capability: 'e', delayMs: -1 }, 'delayMs'],
    [{ capability: 'e', idempotencyKey: '' }, 'idempotencyKey'],
    [{ capability: 'e', sessionKey: 'x'.repeat(257) }, 'sessionKey'],
    [{ capability: 'e', metadata: 'nope' }, 'metadata'],
    [{ capability: 42 }, 'capability'],
    [{}, 'capability'],
    [{ capability: 'e', policy: 'eventually' }, 'policy'],
    [{ capability: 'e', submitter: '' }, 'submitter'],
    [{ capability: 'e', signal: {} }, 'signal'],
  ])('rejects %j naming %s', async (input, field) => {
    const err = await rejection(input);
    expect(err.code).toBe('invalid_request');
    expect(err.message.startsWith(field)).toBe(true);
    expect(err.details).toEqual([expect.objectContaining({ path: field })]);
  });

  it('rejects a non-object', async () => {
    expect((await rejection(null)).code).toBe('invalid_request');
    expect((await rejection('task')).code).toBe('invalid_request');
  });

  it('lists every invalid item of a batch with its index, and queues none', async () => {
    const err = (await sb
      .submitMany([{ capability: 'e' }, { capability: '' }, { capability: 'e', maxAttempts: 0 }])
      .catch((e: unknown) => e)) as SwitchboardError;
    expect(err.code).toBe('invalid_request');
    expect((err.details as { path: string }[]).map((d) => d.path)).toEqual([
      'tasks.1.capability',
      'tasks.2.maxAttempts',
    ]);
    expect((await sb.stats()).queue.depth).toBe(0);
    expect(((await sb.submitMany([]).catch((e: unknown) => e)) as SwitchboardError).code).toBe(
      'invalid_request',
    );
  });

  it('fills defaults, keeps what is given, and delays by delayMs', async () => {
    const plain = await sb.get((await sb.submit({ capability: 'e' })).id);
    expect(plain).toMatchObject({
      priority: 'normal',
      timeoutMs: 5000,
      maxAttempts: 4,
      attempts: 0,
    });
    const full = await sb.get(
      (
        await sb.submit({
          capability: 'e',
          priority: 'low',
          timeoutMs: 10,
          maxAttempts: 1,
          sessionKey: 's',
          delayMs: 60_000,
          metadata: { a: 1 },
          submitter: 'me',
        })
      ).id,
    );
    expect(full).toMatchObject({ priority: 'low', timeoutMs: 10, maxAttempts: 1, sessionKey: 's' });
    expect(full.metadata).toEqual({ a: 1 });
    expect(full.submitter).toBe('me');
    expect(full.availableAt - full.createdAt).toBe(60_000);
    // A JSON-parsed metadata object with odd keys goes through zod, which drops `__proto__`.
    const hostile = JSON.parse('{"capability":"e","metadata":{"__proto__":{"x":1},"ok":2}}');
    const parsed = await sb.get((await sb.submit(hostile)).id);
    expect(parsed.metadata).toEqual({ ok: 2 });
  });

  it('rejects bad options at createSwitchboard', () => {
    expect(() => createSwitchboard({ heartbeatIntervalMs: 0 })).toThrow(/heartbeatIntervalMs/);
    expect(() => createSwitchboard({ heartbeatIntervalMs: 10, heartbeatTimeoutMs: 5 })).toThrow(
      /heartbeatTimeoutMs/,
    );
    expect(() => createSwitchboard({ retry: { factor: 0.5 } })).toThrow(/retry.factor/);
    expect(() => createSwitchboard({ idempotency: { max: 0 } })).toThrow(/idempotency/);
    expect(() => createSwitchboard({ policies: { x: 'sometimes' as never } })).toThrow(
      /policies.x/,
    );
  });

  /** The error `createSwitchboard(options)` throws (the test fails when it throws none). */
  function configError(options: unknown): SwitchboardError {
    try {
      createSwitchboard(options as never);
    } catch (error) {
      expect(error).toBeInstanceOf(SwitchboardError);
      return error as SwitchboardError;
    }
    throw new Error(`accepted ${String(JSON.stringify(options))}`);
  }

  it.each([
    ['defaultTimeoutMs', -1, '1..86400000'],
    ['defaultTimeoutMs', 0, '1..86400000'],
    ['defaultTimeoutMs', 'soon', '1..86400000'],
    ['defaultTimeoutMs', 86_400_001, '1..86400000'],
    ['defaultTimeoutMs', 1.5, '1..86400000'],
    ['defaultMaxAttempts', 0, '1..100'],
    ['defaultMaxAttempts', 101, '1..100'],
    ['defaultMaxAttempts', 1.5, '1..100'],
    ['maxPayloadBytes', -1, '1..'],
    ['maxPayloadBytes', 0, '1..'],
    ['maxPayloadBytes', Number.NaN, '1..'],
    ['maxPayloadBytes', 1.5, '1..'],
    ['maxPayloadBytes', '1024', '1..'],
  ])('refuses %s: %j, naming the option, the value and the range %s', (name, value, range) => {
    const err = configError({ [name]: value });
    expect(err.code).toBe('invalid_config');
    expect(err.message).toContain(name);
    expect(err.message).toContain(range);
    expect(err.message).toContain(typeof value === 'string' ? `"${value}"` : String(value));
  });

  it('accepts the task defaults at the ends of their ranges and copies them into tasks', async () => {
    const edge = createSwitchboard({ defaultTimeoutMs: 86_400_000, defaultMaxAttempts: 100 });
    const task = await edge.get((await edge.submit({ capability: 'e' })).id);
    expect(task).toMatchObject({ timeoutMs: 86_400_000, maxAttempts: 100 });
    await edge.shutdown({ drain: false });
  });

  it('refuses unknown options, at the top level and inside settings objects, naming the known ones', () => {
    const top = configError({ loadBalancr: 'least-busy' });
    expect(top.message).toContain('"loadBalancr" (did you mean "loadBalancer"?)');
    expect(top.message).toContain('known: backend, loadBalancer, recovery');
    expect(top.details).toMatchObject({ key: 'loadBalancr', suggestion: 'loadBalancer' });
    expect(configError({ defaultTimeout: 5 }).message).toContain(
      'did you mean "defaultTimeoutMs"?',
    );
    expect(configError({ retry: { baseMs: 5 } }).message).toMatch(
      /unknown option "retry.baseMs"; known: initialDelayMs, maxDelayMs, factor, jitter/,
    );
    expect(
      configError({ rateLimits: { perIp: { capacity: 1, refillPerSec: 1 } } }).message,
    ).toContain('unknown option "rateLimits.perIp"; known: perSubmitter, perCapability');
    expect(
      configError({ rateLimits: { perSubmitter: { capacity: 1, refillPerSec: 1, burst: 2 } } })
        .message,
    ).toContain('"rateLimits.perSubmitter.burst"');
    expect(configError({ idempotency: { maxx: 5 } }).message).toContain('did you mean "max"?');
    expect(configError({ errorRate: { threshold: 0.5, minSample: 3 } }).message).toContain(
      'did you mean "minSamples"?',
    );
  });

  it('refuses options of the wrong shape with invalid_config, never a TypeError', () => {
    for (const options of [
      'fast',
      [],
      { retry: 'fast' },
      { rateLimits: 'x' },
      { idempotency: 5 },
      { idempotency: { ttlMs: 1.5 } },
      { idempotency: { ttlMs: Number.POSITIVE_INFINITY } },
      { policies: ['queued'] },
      { agents: 'echo' },
      { agents: [1] },
      { now: 'x' },
      { random: 0.5 },
      { onError: true },
      { hungGraceMs: 1e20 },
      { healthSweepIntervalMs: 3_000_000_000 },
    ]) {
      expect(configError(options).code).toBe('invalid_config');
    }
  });

  it('gives a payload JSON cannot serialize a typed error when a size limit is set', async () => {
    const limited = createSwitchboard({ maxPayloadBytes: 1024 });
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    for (const payload of [cyclic, { n: 10n }, 10n, () => 1]) {
      const err = (await limited
        .submit({ capability: 'e', payload })
        .catch((e: unknown) => e)) as SwitchboardError;
      expect(err).toBeInstanceOf(SwitchboardError);
      expect(err.code).toBe('invalid_request');
      expect(err.message).toMatch(/^payload: not serializable as JSON/);
    }
    const batch = (await limited
      .submitMany([{ capability: 'e' }, { capability: 'e', payload: cyclic }])
      .catch((e: unknown) => e)) as SwitchboardError;
    expect(batch.code).toBe('invalid_request');
    expect(batch.details).toEqual([expect.objectContaining({ path: 'tasks.1.payload' })]);
    // Measurable payloads still pass or fail on their size; none of the above was queued.
    await limited.submit({ capability: 'e', payload: { ok: true } });
    const big = (await limited
      .submit({ capability: 'e', payload: 'x'.repeat(2000) })
      .catch((e: unknown) => e)) as SwitchboardError;
    expect(big.code).toBe('payload_too_large');
    expect((await limited.stats()).queue.depth).toBe(1);
    await limited.shutdown({ drain: false });
  });

  it("refuses at submit what an agent's checkTask refuses, for its capabilities only", async () => {
    const seen: string[] = [];
    const checked = createSwitchboard({
      agents: [
        defineAgent({
          name: 'picky',
          capabilities: ['pdf', 'png'],
          checkTask(task) {
            seen.push(task.capability);
            if (typeof task.payload !== 'string') {
              throw new SwitchboardError('invalid_request', 'payload: expected a path', {
                details: [{ path: 'payload', message: 'expected a path' }],
              });
            }
            if (task.payload.startsWith('http')) throw new Error('not a local path');
          },
          handle: (p: unknown) => p,
        }),
      ],
    });
    await checked.start();
    const err = (await checked
      .submit({ capability: 'pdf', payload: 42 })
      .catch((e: unknown) => e)) as SwitchboardError;
    expect(err).toMatchObject({ code: 'invalid_request', message: 'payload: expected a path' });
    // A hook that throws anything else refuses the task too, with what it threw.
    const thrown = (await checked
      .submit({ capability: 'png', payload: 'https://x' })
      .catch((e: unknown) => e)) as SwitchboardError;
    expect(thrown).toMatchObject({ code: 'invalid_request', message: 'payload: not a local path' });
    const batch = (await checked
      .submitMany([
        { capability: 'pdf', payload: '/a.pdf' },
        { capability: 'pdf', payload: 7 },
      ])
      .catch((e: unknown) => e)) as SwitchboardError;
    expect(batch.details).toEqual([expect.objectContaining({ path: 'tasks.1.payload' })]);
    // Another capability is not the agent's business.
    await checked.submit({ capability: 'other', payload: 42 });
    expect(await checked.run({ capability: 'pdf', payload: '/b.pdf' })).toBe('/b.pdf');
    expect(seen).not.toContain('other');
    expect((await checked.stats()).queue.depth).toBe(1);
    await checked.shutdown({ drain: false });
  });
});
