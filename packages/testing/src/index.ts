/**
 * `@switchboard/testing`: the conformance suites of the interfaces a Switchboard plugin
 * implements, as every implementation in the Switchboard repository runs them. A plugin's
 * test file calls the suite of its interface, then adds its own cases:
 *
 * ```ts
 * import { testLoadBalancer } from '@switchboard/testing'
 * testLoadBalancer('least-latency', () => leastLatency())
 * ```
 *
 * The suites are Vitest `describe` blocks (Vitest is a peer dependency) and use only the
 * public API of `@switchboard/core`.
 *
 * @packageDocumentation
 */
export { type BackendSuiteOptions, testBackend } from './backend.js';
export { backendFairness, fairnessPolicy } from './backend-fairness.js';
export {
  createFixture,
  type Fixture,
  PRIORITY_NAMES,
  settle,
  T0,
  taskRecords,
} from './backend-fixture.js';
export { backendProgress } from './backend-progress.js';
export { backendReopen } from './backend-reopen.js';
export { backendSchedules, scheduleRecord } from './backend-schedules.js';
export { type Dispatch, expectFairShares, NO_KEY } from './fair-share.js';
export {
  type CandidateOverrides,
  candidate,
  type LoadBalancerSuiteOptions,
  selectContext,
  testLoadBalancer,
  withOneMoreTask,
} from './load-balancer.js';
export { testPriorityQueue } from './priority-queue.js';
export { ReferenceTokenBucket, testRateLimiter } from './rate-limiter.js';
export {
  agentFailure,
  FAILURE_REASONS,
  invalidActionReason,
  testRecoveryStrategy,
} from './recovery.js';
export { rejectsWith } from './rejects-with.js';
export {
  SERIALIZER_CASES,
  type SerializerCase,
  type SerializerSuiteOptions,
  testSerializer,
} from './serializer.js';
export type { SkipCases } from './skip.js';
