import type { Backend, EnqueueResult, TaskRecord } from '@switchboard/core';

/** The instant every conformance case starts at (explicit `now` values, no timers). */
export const T0 = 1_000_000;

/** The four priorities, most urgent first (a local copy: the suite imports only types). */
export const PRIORITY_NAMES = ['critical', 'high', 'normal', 'low'] as const;

/**
 * A maker of queued task records with unique ids (`<prefix>-<n>`), created at `at`: the one
 * record shape every backend test starts from. `defaults` then `over` override fields.
 */
export function taskRecords(
  prefix: string,
  defaults: Partial<TaskRecord> = {},
  at = T0,
): (over?: Partial<TaskRecord>) => TaskRecord {
  let n = 0;
  return (over = {}) => {
    n++;
    return {
      id: `${prefix}-${n}`,
      capability: 'cap',
      payload: { n },
      priority: 'normal',
      status: 'queued',
      attempts: 0,
      maxAttempts: 3,
      timeoutMs: 1000,
      availableAt: at,
      createdAt: at,
      updatedAt: at,
      ...defaults,
      ...over,
    };
  };
}

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
  const record = taskRecords(run);
  let caps = 0;
  const f: Fixture = {
    backend: undefined as unknown as Backend,
    cap: '',
    reset() {
      f.cap = `cap-${run}-${++caps}`;
    },
    task(over = {}) {
      return record({ capability: f.cap, ...over });
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

/** Lets notifications of a backend that delivers them asynchronously arrive (a few ms). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 5));
}
