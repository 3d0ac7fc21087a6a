import { describe, expect, it } from 'vitest';
import { createRequestLimiter } from '../src/rate-limit.js';

describe('createRequestLimiter', () => {
  it('limits per IP and per token separately, with retryAfterMs', () => {
    let now = 0;
    const limiter = createRequestLimiter(
      { perIp: { capacity: 2, refillPerSec: 1 }, perToken: { capacity: 1, refillPerSec: 2 } },
      () => now,
    );
    limiter.checkIp('1.1.1.1');
    limiter.checkIp('1.1.1.1');
    expect(() => limiter.checkIp('1.1.1.1')).toThrow(
      expect.objectContaining({ code: 'rate_limited', details: { retryAfterMs: 1000 } }),
    );
    limiter.checkIp('2.2.2.2');
    limiter.checkToken('client:a');
    expect(() => limiter.checkToken('client:a')).toThrow(
      expect.objectContaining({ code: 'rate_limited' }),
    );
    now += 500;
    limiter.checkToken('client:a');
    now += 500;
    limiter.checkIp('1.1.1.1');
  });

  it('is off unless configured, and fails fast on a bad configuration', () => {
    const limiter = createRequestLimiter();
    for (let i = 0; i < 1000; i++) limiter.checkIp('x');
    expect(() => createRequestLimiter({ perIp: { capacity: 0, refillPerSec: 1 } })).toThrow(
      expect.objectContaining({ code: 'invalid_config' }),
    );
  });
});
