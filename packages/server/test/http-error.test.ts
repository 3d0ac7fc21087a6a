import { type ErrorCode, SwitchboardError } from '@switchboard/core';
import { describe, expect, it } from 'vitest';
import { retryAfterSeconds, statusOf, toErrorReply } from '../src/http-error.js';

describe('statusOf', () => {
  it('maps the contract codes 1:1', () => {
    const table: [ErrorCode, number][] = [
      ['invalid_request', 400],
      ['unauthorized', 401],
      ['forbidden', 403],
      ['not_found', 404],
      ['conflict', 409],
      ['payload_too_large', 413],
      ['unsupported_media_type', 415],
      ['rate_limited', 429],
      ['unavailable', 503],
    ];
    for (const [code, status] of table) expect(statusOf(code)).toEqual({ code, status });
  });

  it('maps runtime codes to the contract code a client acts on', () => {
    expect(statusOf('expired')).toEqual({ code: 'conflict', status: 409 });
    expect(statusOf('cancelled')).toEqual({ code: 'conflict', status: 409 });
    expect(statusOf('invalid_transition')).toEqual({ code: 'conflict', status: 409 });
    expect(statusOf('no_agent')).toEqual({ code: 'unavailable', status: 503 });
    expect(statusOf('decode_error')).toEqual({ code: 'invalid_request', status: 400 });
    expect(statusOf('agent_failed')).toEqual({ code: 'not_found', status: 404 });
    expect(statusOf('invalid_config')).toEqual({ code: 'internal', status: 500 });
  });
});

describe('toErrorReply', () => {
  it('keeps message and details of a client error', () => {
    const issues = [{ path: 'capability', message: 'required' }];
    const reply = toErrorReply(
      new SwitchboardError('invalid_request', 'capability: required', { details: issues }),
    );
    expect(reply).toMatchObject({ status: 400, bug: false });
    expect(reply.body).toEqual({
      error: { code: 'invalid_request', message: 'capability: required', details: issues },
    });
  });

  it('sets Retry-After in whole seconds for rate_limited', () => {
    const reply = toErrorReply(
      new SwitchboardError('rate_limited', 'slow down', { details: { retryAfterMs: 1200 } }),
    );
    expect(reply.status).toBe(429);
    expect(reply.headers['retry-after']).toBe('2');
    expect(reply.body.error.details).toEqual({ retryAfterMs: 1200 });
  });

  it('hides everything of a bug behind a generic 500', () => {
    const reply = toErrorReply(new TypeError('x is undefined at secret.ts:12'));
    expect(reply).toMatchObject({ status: 500, bug: true });
    expect(reply.body.error).toEqual({ code: 'internal', message: 'internal server error' });
  });

  it('rounds Retry-After up, at least 1 s, bounded for an impossible wait', () => {
    expect(retryAfterSeconds(1)).toBe(1);
    expect(retryAfterSeconds(1001)).toBe(2);
    expect(retryAfterSeconds(Number.POSITIVE_INFINITY)).toBe(3600);
  });
});
