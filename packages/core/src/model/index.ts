/**
 * Plain data every layer shares: tasks, ids, lease tokens, priorities and message envelopes.
 *
 * @module
 */

export type { Message, MessageType } from './envelope.js';
export { MESSAGE_TYPES } from './envelope.js';
export { createLeaseToken, LEASE_TOKEN_LENGTH } from './lease-token.js';
export type { Priority, PriorityLevel } from './priority.js';
export {
  invalidPriorityLevel,
  isPriorityLevel,
  MAX_PRIORITY_LEVEL,
  PRIORITIES,
  priorityLevel,
  priorityName,
} from './priority.js';
export {
  DEFAULT_MAX_CHUNK_BYTES,
  encodeReported,
  MAX_PROGRESS_BYTES,
  type TaskProgress,
  utf8Length,
} from './progress.js';
export {
  type TaskError,
  type TaskLease,
  type TaskRecord,
  type TaskStatus,
  TERMINAL_STATUSES,
  toLease,
} from './task.js';
export type { TaskColumns } from './task-columns.js';
export { reserveTaskIds, taskIdAt } from './task-id.js';
export {
  checkTaskListQuery,
  DEFAULT_TASK_PAGE,
  decodeTaskCursor,
  encodeTaskCursor,
  listedAfter,
  MAX_TASK_PAGE,
  type TaskCursor,
  type TaskListQuery,
  type TaskPage,
} from './task-list.js';
export {
  formatTraceparent,
  isTraceparent,
  isTracestate,
  MAX_TRACESTATE_LENGTH,
  type ParsedTraceparent,
  parseTraceparent,
  type TraceContext,
} from './trace-context.js';
