import { SwitchboardError } from '@switchboard/core';
import { describe, expect, it } from 'vitest';
import { classify, retryDelay, sleep } from '../src/retry.js';

const answer = (status: number, details?: unknown) =>
  new SwitchboardError('internal', `HTTP ${status}`, { details: { status, details } });

describe('classify', () => {
  it('reads an answer by its status', () => {
    expect(classify(answer(404))).toBe('gone');
    expect(classify(answer(409))).toBe('conflict');
    for (const status of [408, 429, 500, 502, 503, 504]) {
      expect([status, classify(answer(status))]).toEqual([status, 'transient']);
    }
    for (const status of [400, 401, 403, 413, 415]) {
      expect([status, classify(answer(status))]).toEqual([status, 'fatal']);
    }
  });

  it('takes a failed fetch or a body that is not JSON as transient', () => {
    expect(classify(new TypeError('fetch failed'))).toBe('transient');
    expect(classify(new SyntaxError('Unexpected token <'))).toBe('transient');
  });
});

describe('retryDelay', () => {
  const backoff = { initialMs: 100, maxMs: 1000 };

  it('doubles up to the cap, half of it random', () => {
    expect([0, 1, 2, 3, 4, 10].map((n) => retryDelay(n, backoff, undefined, () => 0))).toEqual([
      50, 100, 200, 400, 500, 500,
    ]);
    expect([0, 1, 2, 3, 4, 10].map((n) => retryDelay(n, backoff, undefined, () => 1))).toEqual([
      100, 200, 400, 800, 1000, 1000,
    ]);
  });

  it('waits at least what a 429 asks', () => {
    expect(retryDelay(0, backoff, answer(429, { retryAfterMs: 2500 }), () => 0)).toBe(2500);
    expect(retryDelay(3, backoff, answer(429, { retryAfterMs: 10 }), () => 1)).toBe(800);
  });
});

describe('sleep', () => {
  it('ends early when its signal aborts, and at once when it is aborted already', async () => {
    const controller = new AbortController();
    const start = Date.now();
    const slept = sleep(10_000, controller.signal);
    setTimeout(() => controller.abort(), 20);
    await slept;
    await sleep(10_000, controller.signal);
    expect(Date.now() - start).toBeLessThan(2000);
  });
});
