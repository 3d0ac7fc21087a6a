export { createMemoryBackend, MemoryBackend } from './memory-backend.js';
export type { MemoryFairness } from './memory-fairness.js';
export {
  DEFAULT_MAX_RETAINED,
  type MemoryBackendOptions,
} from './memory-options.js';
export type { MemoryBackendUsage } from './memory-store.js';
