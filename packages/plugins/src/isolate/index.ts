/**
 * Isolated agents: an agent in a worker thread or a child process of its own, supervised
 * (crashes and hangs fail it over, the recovery strategy restarts it) and recycled on limits.
 */

export { isolate } from './isolate.js';
export { ISOLATE, type IsolateOptions } from './isolate-options.js';
