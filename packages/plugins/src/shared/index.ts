/** Helpers shared by the built-in plugins: option checks, candidate arithmetic, compression. */
export { freeCandidates, load, randomIndex } from './candidates.js';
export { type CompressionSpec, compressed } from './compression.js';
export {
  configError,
  describe,
  functionOption,
  type NumberRule,
  numberOption,
  readOptions,
} from './options.js';
