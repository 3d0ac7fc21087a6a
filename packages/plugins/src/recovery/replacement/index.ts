/** The `replacement` recovery strategy. */
export {
  REPLACEMENT,
  type ReplacementOptions,
  replacement,
} from './replacement.js';
