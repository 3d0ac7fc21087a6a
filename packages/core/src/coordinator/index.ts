/**
 * `@switchboard/core/coordinator`: the execution coordinator, a standalone library that
 * drives any `TaskRunner` (a Switchboard, or a client of the HTTP API) through fan-outs,
 * pipelines, DAGs and consensus runs. It uses nothing of the runtime but the runner contract.
 *
 * @packageDocumentation
 */

export type {
  CoordinatedTask,
  RunnerHandle,
  RunOptions,
  TaskRunner,
} from '../contracts/task-runner.js';
export { type Compare, jsonEqual } from './consensus.js';
export {
  type DagOptions,
  type DagOutcome,
  type DagResult,
  type DagRun,
  type DagStatus,
  PARTIAL_FAILURE_POLICIES,
  type PartialFailure,
} from './coordinator-dag-types.js';
export type { ConsensusInput, ConsensusResult } from './coordinator-vote.js';
export { type DagNode, type DagSpec, planDag } from './dag.js';
export {
  type CoordinatorOptions,
  ExecutionCoordinator,
  type FanOutOptions,
  type FanOutPolicy,
  type PipelineOptions,
  type PipelineStep,
  type Settled,
} from './execution-coordinator.js';
