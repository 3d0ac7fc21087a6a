/** The `session-affinity` load balancer: a `sessionKey` sticks to one live agent. */
export {
  SESSION_AFFINITY,
  type SessionAffinityBalancer,
  type SessionAffinityOptions,
  sessionAffinity,
} from './session-affinity.js';
