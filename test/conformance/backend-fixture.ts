import { expect } from 'vitest';
import type { Backend, EnqueueResult, TaskRecord } from '../../packages/core/src/backend/index.js';

/** The instant every conformance case starts at (explicit `now` values, no timers). */
export const T0 = 1_000_000;

/** The four priorities, most urgent first (a local copy: the suite imports only types). */
export const PRIORITY_NAMES = ['critical', 'high', 'normal', 'low'] as const;

/** The state and helpers one conformance case works with. */
export interface Fixture {
  backend: Backend;
  /** A capability of this case alone, so backends that share a server never see another's. */
  cap: string;
  /** Picks a fresh capability for the next case. */
  reset(): void;
  /** A new queued record of `cap`, created at `T0`, with unique id. */
  task(over?: Partial<TaskRecord>): TaskRecord;
  enqueue(...tasks: TaskRecord[]): Promise<EnqueueResult[]>;
  lease(max: number, now?: number, capability?: string, agentId?: string): Promise<TaskRecord[]>;
}

/** A fixture whose `backend` the suite sets before each case. */
export function createFixture(): Fixture {
  const run = crypto.randomUUID().slice(0, 8);
  let seq = 0;
  let caps = 0;
  const f: Fixture = {
    backend: undefined as unknown as Backend,
    cap: '',
    reset() {
      f.cap = `cap-${run}-${++caps}`;
    },
    task(over = {}) {
      seq++;
      return {
        id: `${run}-${seq}`,
        capability: f.cap,
        payload: { n: seq },
        priority: 'normal',
        status: 'queued',
        attempts: 0,
        maxAttempts: 3,
        timeoutMs: 1000,
        availableAt: T0,
        createdAt: T0,
        updatedAt: T0,
        ...over,
      };
    },
    enqueue(...tasks) {
      return f.backend.enqueue(tasks);
    },
    lease(max, now = T0, capability = f.cap, agentId = 'agent-1') {
      return f.backend.lease({ capability, agentId, max, now });
    },
  };
  return f;
}

/** Asserts that `promise` rejects with a `SwitchboardError` of `code`. */
export async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  await expect(promise).rejects.toMatchObject({ name: 'SwitchboardError', code });
}

/** Lets notifications of a backend that delivers them asynchronously arrive (a few ms). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 5));
}
