export type { AgentCandidate, LoadBalancer, SelectContext } from './load-balancer.js';
export {
  type AcquireOptions,
  type Lease as ResourceLease,
  type ResourceRequest,
} from './resource-lease.js';
export { ResourceNegotiator, type ResourceNegotiatorOptions } from './resource-negotiator.js';
export type { ResourceDefinition, ResourceStats } from './resource-quota.js';
