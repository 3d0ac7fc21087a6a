import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SwitchboardError } from '../../src/errors.js';
import { type HealthFailure, HealthMonitor } from '../../src/health/health-monitor.js';

const BEAT = { heartbeatIntervalMs: 1_000, heartbeatTimeoutMs: 5_000 };

function setup(extra: Partial<ConstructorParameters<typeof HealthMonitor>[0]> = {}) {
  const failures: HealthFailure[] = [];
  const monitor = new HealthMonitor({ onFailure: (f) => failures.push(f), ...extra });
  return { monitor, failures };
}

/** Lets pending promise callbacks (async health checks) run. */
const flush = () => vi.advanceTimersByTimeAsync(0);

describe('HealthMonitor', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_700_000_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  describe('heartbeats', () => {
    it('fails a silent agent once, at the timeout, with reason heartbeat_timeout', () => {
      const { monitor, failures } = setup();
      monitor.track('a', BEAT);
      monitor.start();
      vi.advanceTimersByTime(4_900);
      expect(failures).toEqual([]);
      expect(monitor.status('a')).toBe('suspect');
      vi.advanceTimersByTime(100);
      expect(failures).toHaveLength(1);
      expect(failures[0]).toMatchObject({ agentId: 'a', reason: 'heartbeat_timeout' });
      expect(failures[0]?.error).toBeInstanceOf(SwitchboardError);
      vi.advanceTimersByTime(60_000);
      expect(failures).toHaveLength(1);
      expect(monitor.status('a')).toBe('failed');
      monitor.stop();
    });

    it('keeps an agent that heartbeats healthy, and a heartbeat resets the deadline', () => {
      const { monitor, failures } = setup();
      monitor.track('a', BEAT);
      monitor.start();
      for (let i = 0; i < 30; i++) {
        vi.advanceTimersByTime(1_000);
        monitor.heartbeat('a');
      }
      expect(monitor.status('a')).toBe('healthy');
      vi.advanceTimersByTime(4_000);
      monitor.heartbeat('a');
      vi.advanceTimersByTime(4_000);
      expect(failures).toEqual([]);
      vi.advanceTimersByTime(1_000);
      expect(failures.map((f) => f.reason)).toEqual(['heartbeat_timeout']);
      monitor.stop();
    });

    it('reports again only after the agent heartbeats after a failure', () => {
      const { monitor, failures } = setup();
      monitor.track('a', BEAT);
      monitor.start();
      vi.advanceTimersByTime(5_000);
      monitor.heartbeat('a');
      expect(monitor.status('a')).toBe('healthy');
      vi.advanceTimersByTime(5_000);
      expect(failures).toHaveLength(2);
      // Re-tracking starts over as well.
      monitor.track('a', BEAT);
      expect(monitor.status('a')).toBe('healthy');
      vi.advanceTimersByTime(5_000);
      expect(failures).toHaveLength(3);
      monitor.stop();
    });

    it('checks each agent against its own timeout', () => {
      const { monitor, failures } = setup();
      monitor.track('fast', { heartbeatIntervalMs: 100, heartbeatTimeoutMs: 300 });
      monitor.track('slow', BEAT);
      monitor.start();
      vi.advanceTimersByTime(300);
      expect(failures.map((f) => f.agentId)).toEqual(['fast']);
      vi.advanceTimersByTime(4_700);
      expect(failures.map((f) => f.agentId)).toEqual(['fast', 'slow']);
      monitor.stop();
    });
  });

  describe('health checks', () => {
    it('fails after N consecutive failing checks, and a pass resets the count', async () => {
      const answers = [false, false, true, false, false, false];
      const check = vi.fn(async () => answers.shift() ?? true);
      const { monitor, failures } = setup();
      monitor.track('a', { ...BEAT, heartbeatTimeoutMs: 60_000, healthCheck: check });
      monitor.start();
      for (let i = 0; i < 5; i++) await vi.advanceTimersByTimeAsync(1_000);
      expect(check).toHaveBeenCalledTimes(5);
      expect(failures).toEqual([]);
      expect(monitor.status('a')).toBe('suspect');
      await vi.advanceTimersByTimeAsync(1_000);
      expect(failures).toHaveLength(1);
      expect(failures[0]).toMatchObject({ agentId: 'a', reason: 'health_check' });
      expect(failures[0]?.error?.message).toMatch(/3 failed health checks/);
      await vi.advanceTimersByTimeAsync(10_000);
      expect(failures).toHaveLength(1);
      monitor.stop();
    });

    it('counts a check that never settles as failing, and ignores its late answer', async () => {
      const resolvers: Array<(ok: boolean) => void> = [];
      const check = () => new Promise<boolean>((resolve) => resolvers.push(resolve));
      const { monitor, failures } = setup();
      monitor.track('a', {
        ...BEAT,
        heartbeatTimeoutMs: 60_000,
        healthCheck: check,
        healthCheckFailures: 2,
        healthCheckTimeoutMs: 500,
      });
      monitor.start();
      await vi.advanceTimersByTimeAsync(1_500);
      expect(monitor.status('a')).toBe('suspect');
      // The first check answers after it was given up on: it must not count as a pass.
      resolvers[0]?.(true);
      await flush();
      expect(monitor.status('a')).toBe('suspect');
      await vi.advanceTimersByTimeAsync(1_000);
      expect(failures).toHaveLength(1);
      expect(failures[0]?.reason).toBe('health_check');
      expect(failures[0]?.error?.cause).toMatchObject({ code: 'timeout' });
      monitor.stop();
    });

    it('counts a throwing check (sync, or rejecting with a non-Error) as failing', async () => {
      const { monitor, failures } = setup();
      monitor.track('sync', {
        ...BEAT,
        healthCheckFailures: 1,
        healthCheck: () => {
          throw new Error('probe crashed');
        },
      });
      monitor.track('async', {
        ...BEAT,
        healthCheckFailures: 1,
        healthCheck: () => Promise.reject('socket closed'),
      });
      monitor.start();
      await vi.advanceTimersByTimeAsync(1_000);
      const byId = Object.fromEntries(failures.map((f) => [f.agentId, f]));
      expect(byId.sync?.reason).toBe('health_check');
      expect(byId.sync?.error?.cause).toMatchObject({ message: 'probe crashed' });
      expect(byId.async?.error?.cause).toMatchObject({
        message: expect.stringMatching(/socket closed/),
      });
      monitor.stop();
    });

    it('takes a passing check as a sign of life for an in-process agent', async () => {
      const { monitor, failures } = setup();
      monitor.track('local', { ...BEAT, healthCheck: () => true });
      monitor.start();
      await vi.advanceTimersByTimeAsync(30_000);
      expect(failures).toEqual([]);
      expect(monitor.status('local')).toBe('healthy');
      monitor.stop();
    });
  });

  describe('error rate', () => {
    it('fails only after minSamples outcomes with the rate above the threshold, once', () => {
      const { monitor, failures } = setup({ ewma: { alpha: 0.5 } });
      monitor.track('a', { ...BEAT, errorRateThreshold: 0.5, minSamples: 4 });
      for (let i = 0; i < 3; i++) monitor.recordTask('a', { ok: false, latencyMs: 10 });
      expect(failures).toEqual([]);
      expect(monitor.status('a')).toBe('suspect');
      monitor.recordTask('a', { ok: false, latencyMs: 10 });
      expect(failures).toHaveLength(1);
      expect(failures[0]).toMatchObject({ agentId: 'a', reason: 'error_rate' });
      expect(failures[0]?.error?.message).toMatch(/error rate 1\.000 above 0\.5 over 4 tasks/);
      monitor.recordTask('a', { ok: false, latencyMs: 10 });
      expect(failures).toHaveLength(1);
    });

    it('does not fail an agent whose failures stay under the threshold', () => {
      const { monitor, failures } = setup({ ewma: { alpha: 0.2 } });
      monitor.track('a', { ...BEAT, errorRateThreshold: 0.5, minSamples: 10 });
      // One task in three fails: the average peaks near 0.41 right after each failure.
      for (let i = 0; i < 100; i++) monitor.recordTask('a', { ok: i % 3 !== 2, latencyMs: 5 });
      expect(failures).toEqual([]);
      expect(monitor.status('a')).toBe('healthy');
      expect(monitor.metrics('a')?.errorRate).toBeGreaterThan(0.2);
      // Then the agent starts failing every task: caught within a few outcomes.
      for (let i = 0; i < 3; i++) monitor.recordTask('a', { ok: false, latencyMs: 5 });
      expect(failures.map((f) => f.reason)).toEqual(['error_rate']);
    });
  });

  describe('metrics', () => {
    it('merges reported metrics, a runtime sample and the task averages', () => {
      const { monitor } = setup({ ewma: { alpha: 0.5 } });
      monitor.track('remote', BEAT);
      monitor.heartbeat('remote', { cpuUsage: 0.3, queueSize: 2, errorRate: 0.1 });
      monitor.heartbeat('remote', { memoryUsage: 0.6 });
      expect(monitor.metrics('remote')).toEqual({
        cpuUsage: 0.3,
        memoryUsage: 0.6,
        queueSize: 2,
        errorRate: 0.1,
        latencyMs: 0,
      });
      monitor.recordTask('remote', { ok: true, latencyMs: 100 });
      monitor.recordTask('remote', { ok: false, latencyMs: 300 });
      // Averages weighted 1/3 (older) and 2/3 (newer), whatever was reported.
      const m = monitor.metrics('remote');
      expect(m?.errorRate).toBeCloseTo(2 / 3, 12);
      expect(m?.latencyMs).toBeCloseTo(100 / 3 + 200, 12);

      let calls = 0;
      monitor.track('local', {
        ...BEAT,
        sampleRuntime: () => {
          if (++calls > 1) throw new Error('not available');
          return { memoryUsage: 0.42 };
        },
      });
      expect(monitor.metrics('local')?.memoryUsage).toBe(0.42);
      expect(monitor.metrics('local')?.memoryUsage).toBe(0);
      expect(monitor.metrics('nobody')).toBeUndefined();
    });

    it('rejects bad reported metrics as invalid_request and keeps the old ones', () => {
      const { monitor } = setup();
      monitor.track('a', BEAT);
      monitor.heartbeat('a', { cpuUsage: 0.2 });
      expect(() => monitor.heartbeat('a', { cpuUsage: 0.5, queueSize: -1 })).toThrow(
        expect.objectContaining({
          code: 'invalid_request',
          message: expect.stringMatching(/queueSize/),
        }),
      );
      expect(monitor.metrics('a')?.cpuUsage).toBe(0.2);
    });
  });

  describe('own event-loop stalls', () => {
    it('does not fail agents because the monitor stalled, yet still catches a real miss', () => {
      const { monitor, failures } = setup();
      monitor.track('a', BEAT);
      monitor.start();
      vi.advanceTimersByTime(1_000);
      monitor.heartbeat('a');
      vi.advanceTimersByTime(1_000);
      // The monitor's own loop is blocked for 30 s: time moves, no timer runs, and the
      // agent's heartbeats are stuck in the same blocked loop.
      vi.setSystemTime(Date.now() + 30_000);
      vi.advanceTimersByTime(100);
      expect(monitor.lagMs).toBeGreaterThanOrEqual(30_000);
      expect(failures).toEqual([]);
      expect(monitor.status('a')).not.toBe('failed');
      // 1 s before the stall + 3.9 s after it: 4.9 s observed, still alive.
      vi.advanceTimersByTime(3_800);
      expect(failures).toEqual([]);
      vi.advanceTimersByTime(100);
      expect(failures.map((f) => f.reason)).toEqual(['heartbeat_timeout']);
      monitor.stop();
    });

    it('gives no extra grace to a heartbeat handled while the sweep was late', () => {
      const { monitor, failures } = setup();
      monitor.track('a', BEAT);
      monitor.start();
      vi.advanceTimersByTime(100);
      vi.setSystemTime(Date.now() + 10_000);
      // I/O callbacks ran during the timer delay: the heartbeat is fresh when the sweep runs.
      monitor.heartbeat('a');
      vi.advanceTimersByTime(100);
      vi.advanceTimersByTime(4_900);
      expect(failures).toEqual([]);
      // Counted from the late sweep at the latest: not 10 s more of grace.
      vi.advanceTimersByTime(100);
      expect(failures.map((f) => f.reason)).toEqual(['heartbeat_timeout']);
      monitor.stop();
    });

    it('ignores a late sweep within the tolerance', () => {
      const { monitor, failures } = setup({ stallToleranceMs: 200 });
      monitor.track('a', BEAT);
      monitor.start();
      vi.advanceTimersByTime(4_000);
      vi.setSystemTime(Date.now() + 150);
      vi.advanceTimersByTime(900);
      expect(failures.map((f) => f.reason)).toEqual(['heartbeat_timeout']);
      monitor.stop();
    });

    it('treats a wall clock stepping back as one sweep interval', () => {
      const { monitor, failures } = setup();
      monitor.track('a', BEAT);
      monitor.start();
      vi.advanceTimersByTime(2_000);
      vi.setSystemTime(Date.now() - 3_600_000);
      vi.advanceTimersByTime(3_000);
      expect(failures.map((f) => f.reason)).toEqual(['heartbeat_timeout']);
      monitor.stop();
    });

    it('applies no grace to a manual sweep while stopped', () => {
      const { monitor, failures } = setup();
      monitor.track('a', BEAT);
      monitor.sweep(Date.now() + 4_999);
      expect(failures).toEqual([]);
      monitor.sweep(Date.now() + 5_000);
      expect(failures).toHaveLength(1);
    });
  });

  describe('lifecycle', () => {
    it('untracks an agent: no failure, hung check ignored, heartbeat answers not_found', async () => {
      let resolve: (ok: boolean) => void = () => {};
      const { monitor, failures } = setup();
      monitor.track('a', {
        ...BEAT,
        healthCheck: () => new Promise<boolean>((r) => (resolve = r)),
      });
      monitor.start();
      await vi.advanceTimersByTimeAsync(1_000);
      expect(monitor.untrack('a')).toBe(true);
      expect(monitor.untrack('a')).toBe(false);
      resolve(false);
      await vi.advanceTimersByTimeAsync(10_000);
      expect(failures).toEqual([]);
      expect(monitor.has('a')).toBe(false);
      expect(monitor.size).toBe(0);
      expect(monitor.status('a')).toBeUndefined();
      expect(monitor.recordTask('a', { ok: false, latencyMs: 1 })).toBe(false);
      expect(() => monitor.heartbeat('a')).toThrow(expect.objectContaining({ code: 'not_found' }));
      monitor.stop();
    });

    it('runs one timer for all agents and leaves none after stop', () => {
      const { monitor } = setup();
      for (let i = 0; i < 50; i++) monitor.track(`agent-${i}`, BEAT);
      monitor.start();
      monitor.start();
      expect(monitor.running).toBe(true);
      expect(vi.getTimerCount()).toBe(1);
      monitor.stop();
      expect(monitor.running).toBe(false);
      expect(vi.getTimerCount()).toBe(0);
    });

    it('hands what onFailure throws to onError and still sweeps the other agents', () => {
      const errors: unknown[] = [];
      const seen: string[] = [];
      const monitor = new HealthMonitor({
        onFailure: (f) => {
          seen.push(f.agentId);
          if (f.agentId === 'a') throw new Error('listener bug');
        },
        onError: (err) => errors.push(err),
      });
      monitor.track('a', BEAT);
      monitor.track('b', BEAT);
      monitor.sweep(Date.now() + 5_000);
      expect(seen).toEqual(['a', 'b']);
      expect(errors).toEqual([new Error('listener bug')]);
    });

    it('rejects bad options as invalid_config, naming the field', () => {
      const { monitor } = setup();
      const bad = [
        { heartbeatIntervalMs: 0, heartbeatTimeoutMs: 10 },
        { heartbeatIntervalMs: 100, heartbeatTimeoutMs: 50 },
        { ...BEAT, errorRateThreshold: 1.5 },
        { ...BEAT, minSamples: 0 },
        { ...BEAT, healthCheckFailures: 1.5 },
        { ...BEAT, healthCheckTimeoutMs: -1 },
        { ...BEAT, healthCheck: 'yes' },
        { ...BEAT, sampleRuntime: 42 },
      ];
      for (const options of bad) {
        expect(() => monitor.track('x', options as never)).toThrow(
          expect.objectContaining({
            code: 'invalid_config',
            message: expect.stringMatching(/agent x/),
          }),
        );
      }
      expect(monitor.has('x')).toBe(false);
      expect(() => new HealthMonitor({} as never)).toThrow(/onFailure/);
      expect(() => new HealthMonitor({ onFailure() {}, stallToleranceMs: -1 })).toThrow(
        /stallToleranceMs/,
      );
    });
  });
});
