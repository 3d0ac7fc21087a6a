import { describe, expect, it } from 'vitest';
import { defineAgent } from '../../src/agent/definition.js';
import type { SwitchboardError } from '../../src/errors.js';
import type { SubmitInput } from '../../src/orchestration/task-input.js';
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
});
