import { SwitchboardError, taskNotFound } from '../../errors.js';
import type { TaskRecord } from '../../model/task.js';
import { DEFAULT_TASK_PAGE, type TaskListQuery, type TaskPage } from '../../model/task-list.js';
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
  return asSubmitterSees(engine, record);
}

/**
 * A page of the stored tasks, each as {@link getTask} shows it. A task the dispatcher holds
 * for want of an eligible agent is stored as leased but shown as queued: a `status` filter
 * then leaves it out of the page (which the listing contract allows: a page may be short).
 * @throws `invalid_request` naming the field of a bad query.
 */
export async function listTasks(
  engine: QueryRoles,
  query: Partial<TaskListQuery> = {},
): Promise<TaskPage> {
  const page = await engine.backend.listTasks({
    ...query,
    limit: query.limit ?? DEFAULT_TASK_PAGE,
  });
  const tasks: TaskRecord[] = [];
  for (const record of page.tasks) {
    const view = asSubmitterSees(engine, record);
    if (query.status === undefined || view.status === query.status) tasks.push(view);
  }
  return page.nextCursor === undefined ? { tasks } : { tasks, nextCursor: page.nextCursor };
}

/** A copy of a stored record as its submitter sees it (see {@link getTask}). */
function asSubmitterSees(engine: QueryRoles, record: TaskRecord): TaskRecord {
  const view = { ...record };
  const entry = engine.book.inflight.get(record.id);
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
