import { SwitchboardError } from '../../errors.js';
import { type TaskRecord, TERMINAL_STATUSES } from '../../model/task.js';

// The errors of the memory backend, one builder each, so every path words them alike.

export function unknownPriority(t: TaskRecord, index: number): SwitchboardError {
  return new SwitchboardError('invalid_request', `[memory] unknown priority ${t.priority}`, {
    details: { index, priority: t.priority },
  });
}

export function exists(t: TaskRecord, index: number): SwitchboardError {
  return new SwitchboardError('conflict', `[memory] task ${t.id} already exists`, {
    details: { index, id: t.id },
  });
}

export function keyedNew(t: TaskRecord, index: number): SwitchboardError {
  return new SwitchboardError(
    'invalid_request',
    `[memory] enqueueNew takes no idempotency key (task ${t.id}): use enqueue`,
    { details: { index, id: t.id } },
  );
}

export function noTask(id: string): SwitchboardError {
  return new SwitchboardError('not_found', `[memory] no task ${id}`, { details: { id } });
}

export function staleToken(id: string): SwitchboardError {
  return new SwitchboardError('conflict', `[memory] stale or foreign lease token for ${id}`, {
    details: { id },
  });
}

export function notLeased(t: TaskRecord): SwitchboardError {
  const reason = TERMINAL_STATUSES.has(t.status) ? `is ${t.status}` : 'is not leased';
  return new SwitchboardError('conflict', `[memory] task ${t.id} ${reason}`, {
    details: { id: t.id, status: t.status },
  });
}
