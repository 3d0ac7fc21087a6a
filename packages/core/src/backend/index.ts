export { createLeaseToken, LEASE_TOKEN_LENGTH } from './lease-token.js';
export { createMemoryBackend, MemoryBackend } from './memory-backend.js';
export {
  DEFAULT_MAX_RETAINED,
  type MemoryBackendOptions,
} from './memory-options.js';
export type { MemoryBackendUsage } from './memory-store.js';
export {
  type TaskError,
  type TaskLease,
  type TaskRecord,
  type TaskStatus,
  TERMINAL_STATUSES,
  toLease,
} from './task.js';
export type { TaskColumns } from './task-columns.js';
export { taskIdAt } from './task-id.js';
