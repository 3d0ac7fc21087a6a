export {
  type ClientOptions,
  createClient,
  type SwitchboardClient,
  type TaskListFilters,
} from './client.js';
export {
  type EventFields,
  type EventOf,
  type EventsConnection,
  type EventsRequest,
  followEvents,
  isEvent,
  type SseMessage,
  SseParser,
  type StreamEvent,
} from './events.js';
export { type Backoff, classify, type Failure } from './retry.js';
export { followTaskStream, type TaskStreamItem, type TaskStreamRequest } from './task-stream.js';
export {
  type CloseOptions,
  createWorker,
  type TaskContext,
  type TaskHandler,
  type Worker,
  type WorkerOptions,
  type WorkerState,
} from './worker.js';
