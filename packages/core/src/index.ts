/**
 * `@switchboard/core`: the runtime-agnostic core of Switchboard: the runtime (submit,
 * dispatch, leases, the agent pool, remote agents, clustering), the contracts extensions
 * implement and the built-ins, the memory backend, health monitoring, the HTTP contract's
 * schemas, and three standalone libraries (coordinator, resources, broker), which also have
 * subpath exports of their own. No `node:*` import, no native code: it runs in Node, Bun,
 * Deno and edge workers.
 *
 * @packageDocumentation
 */
export * from './agent/index.js';
export * from './backends/memory/index.js';
export * from './broker/index.js';
export * from './contracts/index.js';
export * from './coordinator/index.js';
export {
  type ContractErrorCode,
  type ErrorCode,
  isSwitchboardError,
  SwitchboardError,
  toError,
} from './errors.js';
export * from './events/index.js';
export * from './health/index.js';
export { checkKnownKeys, didYouMean } from './known-keys.js';
export * from './model/index.js';
export * from './plugin/index.js';
export * from './protocol/index.js';
export * from './resources/index.js';
export * from './runtime/index.js';
export { checkSwitchboardOptions } from './runtime/option-checks.js';
export * from './runtime/schedules/index.js';
export * from './structures/index.js';
export { createSwitchboard, Switchboard } from './switchboard.js';
