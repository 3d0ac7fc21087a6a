import { afterEach, describe, expect, it } from 'vitest';
import { createSwitchboard, type Switchboard } from '../../src/switchboard.js';

// The fairness keys in `stats()` (and so in `/v1/stats`): the keys with the most tasks queued
// and leased, with their lease rate between two readings, on the real clock.

const running: Switchboard[] = [];
afterEach(async () => {
  for (const sb of running.splice(0)) await sb.shutdown({ drain: false });
});

describe('stats of fairness keys', () => {
  it('shows the top keys with their tasks queued and leased, and their lease rate', async () => {
    const sb = createSwitchboard();
    running.push(sb);
    await sb.start();
    const submit = (fairnessKey: string | undefined, n: number) =>
      sb.submitMany(
        Array.from({ length: n }, () => ({
          capability: 'job',
          ...(fairnessKey === undefined ? {} : { fairnessKey }),
        })),
      );
    await submit('noisy', 6);
    await submit('quiet', 2);
    await submit(undefined, 1);
    // The tasks without a key are not a fairness key of their own here.
    expect((await sb.stats()).fairness).toEqual({
      keys: [
        { key: 'noisy', queued: 6, leased: 0 },
        { key: 'quiet', queued: 2, leased: 0 },
      ],
    });
    const { id } = sb.registerRemote({ name: 'w', capabilities: ['job'], maxConcurrency: 10 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    // One turn each, in the order the keys got work: noisy, quiet, then the unkeyed task.
    expect(await sb.lease(id, { max: 3, waitMs: 0 })).toHaveLength(3);
    const after = (await sb.stats()).fairness?.keys ?? [];
    expect(after.map(({ key, queued, leased }) => ({ key, queued, leased }))).toEqual([
      { key: 'noisy', queued: 5, leased: 1 },
      { key: 'quiet', queued: 1, leased: 1 },
    ]);
    // One lease each over at least the 100 ms between the readings: at most 10 a second.
    for (const k of after) {
      expect(k.leasesPerSec).toBeGreaterThan(0);
      expect(k.leasesPerSec).toBeLessThanOrEqual(10);
    }
    // A key with neither work nor leases drops out; the rest keep their order.
    const leased = await sb.lease(id, { max: 4, waitMs: 0 });
    expect(leased).toHaveLength(4);
    for (const t of leased) await sb.complete(t.id, t.leaseToken, 'ok');
    const keys = (await sb.stats()).fairness?.keys.map((k) => [k.key, k.queued, k.leased]);
    expect(keys).toEqual([
      ['noisy', 2, 1],
      ['quiet', 0, 1],
    ]);
  });

  it('shows only the ten keys with the most tasks, most first, ties by key', async () => {
    const sb = createSwitchboard();
    running.push(sb);
    await sb.start();
    // Key k-i gets i + 1 tasks, submitted in a shuffled order of keys.
    const order = [7, 0, 13, 4, 11, 2, 9, 14, 1, 6, 12, 3, 10, 5, 8];
    for (const i of order) {
      await sb.submitMany(
        Array.from({ length: i + 1 }, () => ({ capability: 'job', fairnessKey: `k-${i}` })),
      );
    }
    await sb.submit({ capability: 'job', fairnessKey: 'also-15' });
    const keys = (await sb.stats()).fairness?.keys.map((k) => `${k.key}:${k.queued}`);
    expect(keys).toEqual([
      'k-14:15',
      'k-13:14',
      'k-12:13',
      'k-11:12',
      'k-10:11',
      'k-9:10',
      'k-8:9',
      'k-7:8',
      'k-6:7',
      'k-5:6',
    ]);
  });
});
