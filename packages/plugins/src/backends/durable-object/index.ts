export {
  createDurableObjectBackend,
  DURABLE_OBJECT_BACKEND,
  DurableObjectBackend,
} from './durable-object-backend.js';
export type {
  DurableObjectBackendOptions,
  DurableObjectStorageLike,
} from './durable-object-storage.js';
