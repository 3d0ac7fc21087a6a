import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BucketQueue, TokenBucketLimiter } from '@switchboard/core';
import { afterEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import {
  createNativePriorityQueue,
  createNativeRateLimiter,
  createPriorityQueue,
  createRateLimiter,
  FASTEST,
} from '../src/factories.js';
import { candidatePaths, loadNative, loadNativeFrom, platformTriples } from '../src/loader.js';
import { NativePriorityQueue } from '../src/native-priority-queue.js';
import { NativeRateLimiter } from '../src/native-rate-limiter.js';
import { native } from './native-available.js';

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('loadNative', () => {
  it('falls back to TypeScript when SWITCHBOARD_NATIVE=0, and says so', () => {
    vi.stubEnv('SWITCHBOARD_NATIVE', '0');
    const load = loadNative();
    expect(load).toMatchObject({
      backend: 'js',
      reason: expect.stringContaining('SWITCHBOARD_NATIVE=0'),
    });
    expect(load.addon).toBeUndefined();
    expect(createNativePriorityQueue()).toBeInstanceOf(BucketQueue);
    expect(createNativeRateLimiter({ capacity: 1, refillPerSec: 1 })).toBeInstanceOf(
      TokenBucketLimiter,
    );
  });

  it('looks for the platform binary at the package root first', () => {
    const [first] = candidatePaths();
    expect(first).toMatch(
      new RegExp(`/packages/native/switchboard-native\\.${process.platform}-${process.arch}`),
    );
    expect(platformTriples({ platform: 'darwin', arch: 'arm64' })).toEqual(['darwin-arm64']);
    expect(platformTriples({ platform: 'win32', arch: 'x64' })).toEqual(['win32-x64-msvc']);
    expect(platformTriples({})).toEqual([]);
  });

  it('keeps every failed attempt, in order, with its cause, when nothing loads', () => {
    const notAddon = join(tmpdir(), `switchboard-not-addon-${process.pid}.cjs`);
    writeFileSync(notAddon, 'module.exports = { queueCreate() {} };');
    onTestFinished(() => rmSync(notAddon, { force: true }));
    const load = loadNativeFrom(['/nowhere/switchboard-native.node', notAddon]);
    expect(load.backend).toBe('js');
    expect(load.errors?.map((e) => e.message)).toEqual([
      'could not load /nowhere/switchboard-native.node',
      `could not load ${notAddon}`,
    ]);
    const [missing, wrong] = (load.errors ?? []).map((e) => String((e.cause as Error).message));
    expect(missing).toMatch(/Cannot find module/);
    expect(wrong).toMatch(/missing queuePush,/);
    expect(load.error).toBeInstanceOf(AggregateError);
    expect(load.error?.errors).toEqual(load.errors);
  });

  it('falls back with the reason on a runtime that cannot load Node-API modules', () => {
    const load = loadNativeFrom(['/any.node'], new Error('no Node-API loader in this runtime'));
    expect(load).toMatchObject({ backend: 'js', reason: 'no Node-API loader in this runtime' });
    expect(load.errors).toHaveLength(1);
  });
});

describe.skipIf(!native)('loadNative with the addon built', () => {
  it('loads the Rust addon from the first candidate and reports it live', () => {
    const load = loadNative();
    expect(load.backend).toBe('native');
    expect(load.path).toBe(candidatePaths()[0]);
    expect(load.reason).toBeUndefined();
  });

  it('skips a missing file and loads the next candidate', () => {
    const load = loadNativeFrom(['/nowhere/x.node', ...candidatePaths()]);
    expect(load.backend).toBe('native');
    expect(load.path).toBe(candidatePaths()[0]);
  });

  it('makes the native implementations, and the defaults pick per workload', () => {
    expect(createNativePriorityQueue()).toBeInstanceOf(NativePriorityQueue);
    expect(createNativeRateLimiter({ capacity: 1, refillPerSec: 1 })).toBeInstanceOf(
      NativeRateLimiter,
    );
    const queueClass = (w: 'single' | 'batch') =>
      FASTEST.queue[w] === 'native' ? NativePriorityQueue : BucketQueue;
    const limiterClass = (w: 'single' | 'batch') =>
      FASTEST.limiter[w] === 'native' ? NativeRateLimiter : TokenBucketLimiter;
    for (const workload of ['single', 'batch'] as const) {
      expect(createPriorityQueue({ workload })).toBeInstanceOf(queueClass(workload));
      expect(createRateLimiter({ capacity: 1, refillPerSec: 1 }, { workload })).toBeInstanceOf(
        limiterClass(workload),
      );
    }
    expect(createPriorityQueue()).toBeInstanceOf(queueClass('batch'));
  });
});
