/**
 * `@switchboard/core/resources`: the resource negotiator, a standalone library of named
 * quotas (slot pools and rate quotas) taken all at once or not at all, with deadlock
 * detection for holders that ask for more. Tasks acquire resources from it explicitly.
 *
 * @packageDocumentation
 */
export type {
  AcquireOptions,
  Lease as ResourceLease,
  ResourceRequest,
} from './resource-lease.js';
export { ResourceNegotiator, type ResourceNegotiatorOptions } from './resource-negotiator.js';
export type { ResourceDefinition, ResourceStats } from './resource-quota.js';
