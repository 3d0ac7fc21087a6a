/** The `capability-aware` load balancer: best capability version, or a score of yours. */
export {
  CAPABILITY_AWARE,
  type CandidateScorer,
  type CapabilityAwareOptions,
  capabilityAware,
  versionScore,
} from './capability-aware.js';
