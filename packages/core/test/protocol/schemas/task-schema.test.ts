import { describe, expect, it } from 'vitest';
import {
  completeSchema,
  extendSchema,
  failSchema,
  resultQuerySchema,
  taskBatchSchema,
  taskSubmitSchema,
} from '../../../src/protocol/schemas/task-schema.js';
import { safeValidate, validate } from '../../../src/protocol/validator.js';

/** The `path: message` of the first issue, or 'ok'. */
function verdict(schema: Parameters<typeof safeValidate>[0], input: unknown): string {
  const r = safeValidate(schema, input);
  return r.ok ? 'ok' : r.error.message;
}

describe('taskSubmitSchema', () => {
  it('fills the defaults and keeps what was given', () => {
    expect(validate(taskSubmitSchema, { capability: 'browser' })).toEqual({
      capability: 'browser',
      priority: 'normal',
      maxAttempts: 3,
    });
    const full = {
      capability: 'browser',
      payload: { url: 'https://example.org' },
      priority: 'high',
      timeoutMs: 30_000,
      maxAttempts: 5,
      idempotencyKey: 'order-42',
      sessionKey: 'user-7',
      delayMs: 0,
      metadata: { tenant: 't1' },
    } as const;
    expect(validate(taskSubmitSchema, full)).toEqual(full);
  });

  it('drops unknown fields', () => {
    expect(validate(taskSubmitSchema, { capability: 'a', extra: 1 })).not.toHaveProperty('extra');
  });

  it.each([
    [{}, /^capability: required$/],
    [{ capability: '' }, /^capability: /],
    [{ capability: 7 }, /^capability: .*expected string/],
    [{ capability: 'a'.repeat(257) }, /^capability: /],
    [{ capability: 'a', timeoutMs: 0 }, /^timeoutMs: /],
    [{ capability: 'a', timeoutMs: 86_400_001 }, /^timeoutMs: /],
    [{ capability: 'a', timeoutMs: 1.5 }, /^timeoutMs: /],
    [{ capability: 'a', maxAttempts: 0 }, /^maxAttempts: /],
    [{ capability: 'a', maxAttempts: 101 }, /^maxAttempts: /],
    [{ capability: 'a', priority: 'urgent' }, /^priority: /],
    [{ capability: 'a', delayMs: -1 }, /^delayMs: /],
    [{ capability: 'a', idempotencyKey: 'k'.repeat(257) }, /^idempotencyKey: /],
    [{ capability: 'a', sessionKey: '' }, /^sessionKey: /],
    [{ capability: 'a', metadata: [1] }, /^metadata: /],
    [null, /expected object/],
  ])('rejects %j', (input, message) => {
    expect(verdict(taskSubmitSchema, input)).toMatch(message);
  });

  it.each([
    { capability: 'a', timeoutMs: 1 },
    { capability: 'a', timeoutMs: 86_400_000 },
    { capability: 'a', maxAttempts: 1 },
    { capability: 'a', maxAttempts: 100 },
    { capability: 'a', priority: 'critical', payload: null },
    { capability: 'a', delayMs: 0, idempotencyKey: 'k'.repeat(256) },
  ])('accepts the boundary %j', (input) => {
    expect(verdict(taskSubmitSchema, input)).toBe('ok');
  });
});

describe('taskBatchSchema', () => {
  it('accepts 1 and 10,000 tasks, rejects 0 and 10,001', () => {
    const tasks = (n: number) => Array.from({ length: n }, () => ({ capability: 'a' }));
    expect(verdict(taskBatchSchema, { tasks: tasks(1) })).toBe('ok');
    expect(validate(taskBatchSchema, { tasks: tasks(10_000) }).tasks).toHaveLength(10_000);
    expect(verdict(taskBatchSchema, { tasks: [] })).toMatch(/^tasks: /);
    expect(verdict(taskBatchSchema, { tasks: tasks(10_001) })).toMatch(/^tasks: /);
  });

  it('names the index of every invalid item', () => {
    const r = safeValidate(taskBatchSchema, {
      tasks: [{ capability: 'a' }, { capability: 'b' }, {}, { capability: 'c', maxAttempts: 101 }],
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.message).toBe('tasks.2.capability: required');
    expect(r.issues.map((i) => i.path)).toEqual(['tasks.2.capability', 'tasks.3.maxAttempts']);
  });
});

describe('lease answers', () => {
  it('completes with any result, fails retryable by default, extends by whole ms', () => {
    expect(validate(completeSchema, { leaseToken: 't', result: [1, 'x'] })).toEqual({
      leaseToken: 't',
      result: [1, 'x'],
    });
    expect(validate(failSchema, { leaseToken: 't', error: { message: 'boom' } })).toEqual({
      leaseToken: 't',
      error: { message: 'boom', retryable: true },
    });
    expect(
      validate(failSchema, { leaseToken: 't', error: { message: 'x', retryable: false } }),
    ).toMatchObject({ error: { retryable: false } });
    expect(validate(extendSchema, { leaseToken: 't', ms: 1 })).toEqual({ leaseToken: 't', ms: 1 });
  });

  it.each([
    [completeSchema, { result: 1 }, 'leaseToken: required'],
    [completeSchema, { leaseToken: '' }, /^leaseToken: /],
    [failSchema, { leaseToken: 't' }, 'error: required'],
    [failSchema, { leaseToken: 't', error: {} }, 'error.message: required'],
    [extendSchema, { leaseToken: 't', ms: 0 }, /^ms: /],
    [extendSchema, { leaseToken: 't', ms: 2.5 }, /^ms: /],
  ] as const)('rejects %#', (schema, input, message) => {
    expect(verdict(schema, input)).toMatch(message);
  });
});

describe('resultQuerySchema', () => {
  it('coerces waitMs from a query string, 0..60000, default 0', () => {
    expect(validate(resultQuerySchema, {})).toEqual({ waitMs: 0 });
    expect(validate(resultQuerySchema, { waitMs: '1500' })).toEqual({ waitMs: 1500 });
    expect(validate(resultQuerySchema, { waitMs: '60000' })).toEqual({ waitMs: 60_000 });
    expect(verdict(resultQuerySchema, { waitMs: '60001' })).toMatch(/^waitMs: /);
    expect(verdict(resultQuerySchema, { waitMs: '-1' })).toMatch(/^waitMs: /);
    expect(verdict(resultQuerySchema, { waitMs: 'soon' })).toMatch(/^waitMs: /);
  });
});
