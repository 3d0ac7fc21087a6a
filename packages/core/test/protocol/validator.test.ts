import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { SwitchboardError } from '../../src/errors.js';
import { agentRegisterSchema } from '../../src/protocol/schemas/agent-schema.js';
import { messageSchema } from '../../src/protocol/schemas/message-schema.js';
import { taskBatchSchema, taskSubmitSchema } from '../../src/protocol/schemas/task-schema.js';
import {
  ProtocolValidator,
  safeValidate,
  validate,
  validationError,
} from '../../src/protocol/validator.js';

function caught(fn: () => unknown): SwitchboardError {
  try {
    fn();
  } catch (err) {
    if (err instanceof SwitchboardError) return err;
    throw err;
  }
  throw new Error('expected a throw');
}

describe('validate', () => {
  it('throws invalid_request naming the first issue, with every issue in details', () => {
    const err = caught(() => validate(taskSubmitSchema, { maxAttempts: 0, priority: 'soon' }));
    expect(err.code).toBe('invalid_request');
    expect(err.retryable).toBe(false);
    expect(err.message).toBe('capability: required');
    expect(err.details).toEqual([
      { path: 'capability', message: 'required' },
      { path: 'priority', message: expect.stringContaining('critical') },
      { path: 'maxAttempts', message: expect.stringContaining('>=1') },
    ]);
    // The error body the server sends is plain JSON.
    expect(JSON.parse(JSON.stringify(err))).toMatchObject({
      code: 'invalid_request',
      details: [{ path: 'capability' }, { path: 'priority' }, { path: 'maxAttempts' }],
    });
  });

  it('gives batch items their index in the path', () => {
    const tasks = Array.from({ length: 5 }, () => ({ capability: 'a' }));
    tasks[3] = { capability: '' };
    const err = caught(() => validate(taskBatchSchema, { tasks }));
    expect(err.details).toEqual([{ path: 'tasks.3.capability', message: expect.any(String) }]);
  });

  it('reports an issue of the whole body without a path prefix', () => {
    const err = caught(() => validate(taskSubmitSchema, 'not an object'));
    expect(err.message).toMatch(/^Invalid input: expected object/);
    expect(err.details).toEqual([{ path: '', message: err.message }]);
    expect(validationError([]).message).toBe('invalid input');
  });

  it('never lets a __proto__ key pollute a prototype', () => {
    const body = JSON.parse(
      '{"capability": "a", "metadata": {"__proto__": {"polluted": 1}, "ok": 2},' +
        ' "__proto__": {"polluted": 1}, "constructor": {"prototype": {"polluted": 1}}}',
    );
    const task = validate(taskSubmitSchema, body);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(task)).toBe(Object.prototype);
    expect(Object.keys(task)).not.toContain('__proto__');
    expect(Object.keys(task)).not.toContain('constructor');
    expect(task.metadata).toEqual({ ok: 2 });
    expect(Object.getPrototypeOf(task.metadata)).toBe(Object.prototype);
    expect((task.metadata as Record<string, unknown>).polluted).toBeUndefined();

    const agent = validate(
      agentRegisterSchema,
      JSON.parse(
        '{"name": "x", "capabilities": [{"name": "c", "parameters": {"__proto__": {"polluted": 1}}}]}',
      ),
    );
    expect((agent.capabilities[0] as { parameters: object }).parameters).toEqual({});
    const message = JSON.parse(
      '{"id": "1", "type": "event", "priority": "low", "sender": "s", "payload": null,' +
        ' "createdAt": 0, "attempts": 0, "headers": {"__proto__": "x"}}',
    );
    expect(validate(messageSchema, message).headers).toEqual({});
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('safeValidate and ProtocolValidator', () => {
  it('answers a result instead of throwing', () => {
    expect(safeValidate(taskSubmitSchema, { capability: 'a' })).toEqual({
      ok: true,
      value: { capability: 'a', priority: 'normal', maxAttempts: 3 },
    });
    const r = safeValidate(taskSubmitSchema, { capability: 1 });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error).toBeInstanceOf(SwitchboardError);
      expect(r.issues).toEqual([
        { path: 'capability', message: expect.stringContaining('string') },
      ]);
    }
  });

  it('binds one schema', () => {
    const ids = new ProtocolValidator(z.object({ id: z.string().min(1) }));
    expect(ids.validate({ id: 'x', more: 1 })).toEqual({ id: 'x' });
    expect(ids.safeValidate({}).ok).toBe(false);
    expect(() => ids.validate({ id: '' })).toThrow(/^id: /);
  });
});
