import { describe, expect, it } from 'vitest';
import {
  formatTraceparent,
  isTraceparent,
  isTracestate,
  parseTraceparent,
} from '../../src/model/trace-context.js';
import { toTaskRecord } from '../../src/runtime/submit/task-input.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';
const defaults = { timeoutMs: 30_000, maxAttempts: 3 };

describe('W3C traceparent', () => {
  it('reads the example of the spec, and writes it back', () => {
    expect(parseTraceparent(`00-${TRACE}-${SPAN}-01`)).toEqual({
      traceId: TRACE,
      spanId: SPAN,
      flags: 1,
    });
    expect(formatTraceparent(TRACE, SPAN, 1)).toBe(`00-${TRACE}-${SPAN}-01`);
    expect(formatTraceparent(TRACE, SPAN, 0)).toBe(`00-${TRACE}-${SPAN}-00`);
  });

  it('refuses what the spec calls invalid', () => {
    const bad = [
      `00-${'0'.repeat(32)}-${SPAN}-01`, // all-zero trace id
      `00-${TRACE}-${'0'.repeat(16)}-01`, // all-zero parent id
      `ff-${TRACE}-${SPAN}-01`, // the forbidden version
      `00-${TRACE.toUpperCase()}-${SPAN}-01`, // upper case
      `00-${TRACE}-${SPAN}-01-extra`, // version 00 has exactly four fields
      `00-${TRACE}-${SPAN}`,
      `00-${TRACE.slice(1)}-${SPAN}-01`,
      '',
      42,
      undefined,
    ];
    for (const value of bad) expect(parseTraceparent(value), String(value)).toBeUndefined();
  });

  it('reads a later version, ignoring the fields it adds', () => {
    expect(isTraceparent(`01-${TRACE}-${SPAN}-03-whatever`)).toBe(true);
    expect(parseTraceparent(`01-${TRACE}-${SPAN}-03-whatever`)?.flags).toBe(3);
  });

  it('takes a tracestate of printable ASCII up to 512 characters', () => {
    expect(isTracestate('rojo=00f067aa0ba902b7,congo=t61rcWkgMzE')).toBe(true);
    expect(isTracestate('')).toBe(true);
    expect(isTracestate('a'.repeat(513))).toBe(false);
    expect(isTracestate('a=b\nc=d')).toBe(false);
    expect(isTracestate(7)).toBe(false);
  });
});

describe('a submitted trace context', () => {
  it('is kept on the record, the tracestate only with a traceparent', () => {
    const traceparent = `00-${TRACE}-${SPAN}-01`;
    const task = toTaskRecord(
      { capability: 'c', traceparent, tracestate: 'v=1' },
      'id-1',
      0,
      defaults,
    );
    expect([task.traceparent, task.tracestate]).toEqual([traceparent, 'v=1']);
    const alone = toTaskRecord({ capability: 'c', tracestate: 'v=1' }, 'id-2', 0, defaults);
    expect([alone.traceparent, alone.tracestate]).toEqual([undefined, undefined]);
  });

  it('is an invalid_request naming the field when malformed', () => {
    expect(() =>
      toTaskRecord({ capability: 'c', traceparent: '00-abc' }, 'id-3', 0, defaults, 'tasks.2.'),
    ).toThrow(
      expect.objectContaining({
        code: 'invalid_request',
        message: expect.stringMatching(/^tasks\.2\.traceparent:/),
      }),
    );
    expect(() =>
      toTaskRecord({ capability: 'c', tracestate: 'a\u0000b' }, 'id-4', 0, defaults),
    ).toThrow(/tracestate/);
  });
});
