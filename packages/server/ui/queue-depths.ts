import { batch, signal } from '@preact/signals';
import type { SwitchboardClient } from '@switchboard/client';

/** A queue: one capability at one priority, as the events tell it. */
export interface QueueRow {
  capability: string;
  priority: string;
  depth: number;
  /** Tasks in and out per second over the last sample. */
  inRate: number;
  outRate: number;
  history: number[];
  inCount: number;
  outCount: number;
}

export const queues = signal<ReadonlyMap<string, QueueRow>>(new Map());

/** The most queued tasks read at sign-in to start the depths from. */
const SEED_TASKS = 5_000;

/** Where each task the page knows of is: its queue, whether it waits there, who holds it. */
const tracked = new Map<string, { key: string; queued: boolean; agentId?: string }>();

function move(key: string, depth: number, inCount: number, outCount: number): void {
  const next = new Map(queues.value);
  const [capability = '', priority = ''] = key.split('|');
  const row = next.get(key) ?? {
    capability,
    priority,
    depth: 0,
    inRate: 0,
    outRate: 0,
    history: [],
    inCount: 0,
    outCount: 0,
  };
  next.set(key, {
    ...row,
    depth: Math.max(0, row.depth + depth),
    inCount: row.inCount + inCount,
    outCount: row.outCount + outCount,
  });
  queues.value = next;
}

function enter(task: { key: string; queued: boolean }, counted = true): void {
  if (task.queued) return;
  task.queued = true;
  move(task.key, 1, counted ? 1 : 0, 0);
}

/** Takes a task out of its queue (leased, cancelled, dead), if it waited there. */
export function leave(taskId: string): void {
  const task = tracked.get(taskId);
  if (task?.queued) {
    task.queued = false;
    move(task.key, -1, 0, 1);
  }
}

/**
 * A task queued (submitted or replayed) at a capability and priority; `counted` unless it
 * was there before the page looked, so that it adds to the depth but not to the rate in.
 */
export function queued(taskId: string, capability: string, priority: string, counted = true): void {
  leave(taskId);
  const task = { key: `${capability}|${priority}`, queued: false };
  tracked.set(taskId, task);
  enter(task, counted);
}

/**
 * A task leased by `agentId`: out of its queue. Returns the agent that held it before, when
 * another did (the task was taken over).
 */
export function leased(taskId: string, agentId: string | undefined): string | undefined {
  leave(taskId);
  const task = tracked.get(taskId);
  const previous = task?.agentId;
  if (task !== undefined && agentId !== undefined) task.agentId = agentId;
  return previous !== agentId ? previous : undefined;
}

/** A failed attempt that sent the task back to its queue. */
export function retried(taskId: string): void {
  const task = tracked.get(taskId);
  if (task !== undefined) enter(task);
}

/** A failed agent: its leases went back to their queues (before the event that says so). */
export function agentFailed(agentId: string): void {
  for (const task of tracked.values()) if (task.agentId === agentId) enter(task);
}

/** A task that ended: the page keeps only the tasks that may still wait or run. */
export function forget(taskId: string): void {
  leave(taskId);
  tracked.delete(taskId);
}

/** Turns the counts since the last sample into rates, and adds the depths to their histories. */
export function sampleQueues(sinceMs: number, history: number): void {
  const next = new Map<string, QueueRow>();
  for (const [key, row] of queues.value) {
    next.set(key, {
      ...row,
      inRate: (row.inCount * 1000) / sinceMs,
      outRate: (row.outCount * 1000) / sinceMs,
      inCount: 0,
      outCount: 0,
      history: [...row.history, row.depth].slice(-history),
    });
  }
  queues.value = next;
}

/**
 * Starts the depths from the tasks queued when the page opens (the newest
 * {@link SEED_TASKS}); the event stream moves them from then on. A task `known` to the page
 * already is left to the stream.
 */
export async function seedQueues(
  client: SwitchboardClient,
  signal: AbortSignal,
  known: (taskId: string) => boolean,
): Promise<void> {
  let cursor: string | undefined;
  let read = 0;
  do {
    const page = await client.listTasks({
      status: 'queued',
      limit: 1000,
      ...(cursor === undefined ? {} : { cursor }),
    });
    if (signal.aborted) return;
    batch(() => {
      for (const task of page.tasks) {
        if (!tracked.has(task.id) && !known(task.id)) {
          queued(task.id, task.capability, task.priority, false);
        }
      }
    });
    read += page.tasks.length;
    cursor = page.nextCursor;
  } while (cursor !== undefined && read < SEED_TASKS);
}
