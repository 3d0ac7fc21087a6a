import { describe, expect, it } from 'vitest';
import {
  agentRegisterSchema,
  heartbeatSchema,
  leaseRequestSchema,
} from '../../../src/protocol/schemas/agent-schema.js';
import { safeValidate, validate } from '../../../src/protocol/validator.js';

function verdict(schema: Parameters<typeof safeValidate>[0], input: unknown): string {
  const r = safeValidate(schema, input);
  return r.ok ? 'ok' : r.error.message;
}

describe('agentRegisterSchema', () => {
  it('accepts the example of the API with defaults filled', () => {
    expect(
      validate(agentRegisterSchema, {
        name: 'browser-1',
        capabilities: ['browser', { name: 'llm', version: '2', parameters: { model: 'm' } }],
      }),
    ).toEqual({
      name: 'browser-1',
      role: 'worker',
      capabilities: ['browser', { name: 'llm', version: '2', parameters: { model: 'm' } }],
      maxConcurrency: 1,
    });
    expect(
      validate(agentRegisterSchema, {
        name: 'c',
        role: 'coordinator',
        capabilities: [{ name: 'plan', type: 'orchestration', version: '1.4.0' }],
        maxConcurrency: 4,
        metadata: {},
      }),
    ).toMatchObject({ role: 'coordinator', maxConcurrency: 4, metadata: {} });
  });

  it('takes an agent without a name (the contract requires only capabilities)', () => {
    expect(validate(agentRegisterSchema, { capabilities: ['a'] })).toEqual({
      role: 'worker',
      capabilities: ['a'],
      maxConcurrency: 1,
    });
  });

  it.each([
    [{ name: '', capabilities: ['a'] }, /^name: /],
    [{ name: 'x' }, 'capabilities: required'],
    [{ name: 'x', capabilities: [] }, /^capabilities: /],
    [{ name: 'x', capabilities: [''] }, /^capabilities\.0: /],
    [{ name: 'x', capabilities: [{ version: '1' }] }, /^capabilities\.0/],
    [{ name: 'x', capabilities: [{ name: 'a', version: 'v2' }] }, /^capabilities\.0/],
    [{ name: 'x', capabilities: ['a'], role: 'boss' }, /^role: /],
    [{ name: 'x', capabilities: ['a'], maxConcurrency: 0 }, /^maxConcurrency: /],
    [{ name: 'x', capabilities: ['a'], maxConcurrency: 1.5 }, /^maxConcurrency: /],
  ])('rejects %j', (input, message) => {
    expect(verdict(agentRegisterSchema, input)).toMatch(message);
  });
});

describe('heartbeatSchema and leaseRequestSchema', () => {
  it('takes optional metrics, keeping extra numeric figures', () => {
    expect(validate(heartbeatSchema, {})).toEqual({});
    expect(
      validate(heartbeatSchema, { metrics: { cpuUsage: 0.3, queueSize: 2, gpuUsage: 0.9 } }),
    ).toEqual({ metrics: { cpuUsage: 0.3, queueSize: 2, gpuUsage: 0.9 } });
    expect(verdict(heartbeatSchema, { metrics: { cpuUsage: 1.5 } })).toMatch(
      /^metrics\.cpuUsage: /,
    );
    expect(verdict(heartbeatSchema, { metrics: { custom: 'high' } })).toMatch(/^metrics\.custom: /);
  });

  it('bounds max to 1..1000 and waitMs to 0..30000 with defaults 1 and 0', () => {
    expect(validate(leaseRequestSchema, {})).toEqual({ max: 1, waitMs: 0 });
    expect(validate(leaseRequestSchema, { max: 1000, waitMs: 30_000 })).toEqual({
      max: 1000,
      waitMs: 30_000,
    });
    expect(verdict(leaseRequestSchema, { max: 0 })).toMatch(/^max: /);
    expect(verdict(leaseRequestSchema, { max: 1001 })).toMatch(/^max: /);
    expect(verdict(leaseRequestSchema, { waitMs: 30_001 })).toMatch(/^waitMs: /);
    expect(verdict(leaseRequestSchema, { waitMs: -1 })).toMatch(/^waitMs: /);
  });
});
