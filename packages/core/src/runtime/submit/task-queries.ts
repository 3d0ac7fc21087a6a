import { SwitchboardError, taskNotFound } from '../../errors.js';
import type { TaskRecord } from '../../model/task.js';
import type { Engine } from '../engine.js';
import { isTerminal, type Waiter } from './task-tracker.js';

/** The roles the task queries uses, so that it can be built and tested with just these. */
export type QueryRoles = Pick<
  Engine,
  | 'backend'
  | 'book'
  | 'dispatcher'
  | 'emit'
  | 'events'
  | 'listens'
  | 'now'
  | 'taskPolicies'
  | 'tracker'
>;

// The task queries and admin operations of the Switchboard API, over the engine: reading a
// task (as its submitter sees it), waiting for its end, cancel, replay, and the drain wait.

/** The task as it stands, as the API shows it. @throws `not_found`. */
export async function getTask(engine: QueryRoles, id: string): Promise<TaskRecord> {
  const record = await engine.backend.get(id);
  if (record === undefined) throw taskNotFound(id);
  const view = { ...record };
  const entry = engine.book.inflight.get(id);
  if (entry?.member !== undefined) view.agentId = entry.member.id;
  else if (entry?.stage === 'pending') {
    // Held by the dispatcher for want of an eligible agent: to its submitter, still queued.
    view.status = 'queued';
    delete view.agentId;
    delete view.leaseToken;
    delete view.leaseExpiresAt;
  }
  return view;
}

/** The task once terminal, or as it stands after `waitMs`. @throws `not_found`. */
export async function waitForTask(
  engine: QueryRoles,
  id: string,
  waitMs: number,
): Promise<TaskRecord> {
  if (!(waitMs >= 0)) throw new SwitchboardError('invalid_request', 'waitMs must be ≥ 0');
  let timer: ReturnType<typeof setTimeout> | undefined;
  let waiter: Waiter | undefined;
  const ended = new Promise<void>((resolve) => {
    waiter = { resolve: () => resolve(), reject: () => resolve() };
    engine.tracker.wait(id, waiter);
    if (waitMs > 0) timer = setTimeout(resolve, waitMs);
  });
  try {
    const now = await getTask(engine, id);
    if (isTerminal(now.status) || waitMs === 0) return now;
    await ended;
    return await getTask(engine, id);
  } finally {
    engine.tracker.unwait(id, waiter as Waiter);
    if (timer !== undefined) clearTimeout(timer);
  }
}

/** Cancels a task that is not terminal: its lease ends, its waiters get `cancelled`. */
export async function cancelTask(engine: QueryRoles, id: string): Promise<TaskRecord> {
  const record = await engine.backend.cancel(id, engine.now());
  const entry = engine.book.inflight.get(id);
  if (entry !== undefined) {
    engine.book.detach(entry, new SwitchboardError('cancelled', `task ${id} was cancelled`));
    if (entry.member !== undefined) engine.dispatcher.freed(entry.member);
  }
  engine.tracker.counters.cancelled++;
  engine.tracker.ended(record);
  engine.taskPolicies.delete(id);
  engine.emit('task.cancelled', () => ({ taskId: id, capability: record.capability }));
  return { ...record };
}

/** Queues a dead task again, attempts starting over. */
export async function replayTask(engine: QueryRoles, id: string): Promise<TaskRecord> {
  const record = await engine.backend.replay(id, engine.now());
  if (engine.listens('task.queued')) {
    engine.events.publish('task.queued', {
      taskId: id,
      capability: record.capability,
      priority: record.priority,
    });
  }
  return { ...record };
}
