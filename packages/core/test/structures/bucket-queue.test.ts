import { BucketQueue, createPriorityQueue } from '@switchboard/core';
import { testPriorityQueue } from '@switchboard/testing';
import { describe, expect, it } from 'vitest';
import { isSwitchboardError } from '../../src/errors.js';
import { priorityLevel } from '../../src/model/priority.js';

testPriorityQueue('BucketQueue', () => new BucketQueue());

describe('BucketQueue', () => {
  it('is what createPriorityQueue makes', () => {
    expect(createPriorityQueue<string>()).toBeInstanceOf(BucketQueue);
  });

  it('gives memory back as it drains and when cleared', () => {
    const q = new BucketQueue<number>();
    const empty = q.capacity;
    q.pushMany(
      Array.from({ length: 10_000 }, (_, i) => i),
      new Uint8Array(10_000).fill(2),
    );
    const full = q.capacity;
    expect(full).toBeGreaterThanOrEqual(10_000);
    q.popMany(9_900);
    expect(q.capacity).toBeLessThanOrEqual(512);
    q.push(1, 7);
    q.clear();
    expect(q.capacity).toBe(empty);
  });

  it('does not keep memory spanned by items removed from the middle', () => {
    const q = new BucketQueue<number>();
    const handles = q.pushMany(
      Array.from({ length: 4_096 }, (_, i) => i),
      new Uint8Array(4_096),
    );
    // Keep the head and tail live so no removal can simply move the ring's ends.
    for (let i = 1; i < 4_095; i++) q.remove(handles[i]!);
    expect(q.size).toBe(2);
    expect(q.capacity).toBeLessThanOrEqual(64);
    expect(q.popMany(5)).toEqual([0, 4_095]);
  });

  it('tells handles of different levels apart even at the same position', () => {
    const q = new BucketQueue<string>();
    const low = q.push('low', priorityLevel('low'));
    const high = q.push('high', priorityLevel('high'));
    const top = q.push('top', 255);
    expect(q.remove(high)).toBe(true);
    expect(q.remove(high)).toBe(false);
    expect(q.sizeAt(3)).toBe(1);
    expect(q.remove(top)).toBe(true);
    expect(q.popMany(3)).toEqual(['low']);
    expect(q.remove(low)).toBe(false);
  });

  it('answers false to handles that are not handles', () => {
    const q = new BucketQueue<string>();
    const h = q.push('kept', 0);
    for (const bad of [-1, 0.5, Number.NaN, 42, h + 0.5, h + 256 * 1000]) {
      expect(q.remove(bad)).toBe(false);
    }
    expect(q.size).toBe(1);
  });

  it('names the offending index of a batch and throws a SwitchboardError', () => {
    const q = new BucketQueue<string>();
    try {
      q.pushMany(['a', 'b'], [0, -3]);
      expect.unreachable();
    } catch (err) {
      expect(isSwitchboardError(err, 'invalid_request')).toBe(true);
      expect((err as { details: unknown }).details).toEqual({ index: 1, priority: -3 });
    }
    expect(() => q.sizeAt(300)).toThrow(/0\.\.255/);
  });
});
