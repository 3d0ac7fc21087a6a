/**
 * Agents: the model (states, roles, capabilities, config, metrics, task context), the
 * lifecycle state machine, version ranges, the registry, definitions, the live agent and
 * the factory.
 */

export {
  AGENT_ROLES,
  AGENT_STATES,
  type AgentRole,
  type AgentState,
  type Capability,
  type CapabilityInput,
  type CapabilityType,
  DEFAULT_CAPABILITY_VERSION,
  emptyMetrics,
  type HealthMetrics,
  KNOWN_CAPABILITY_TYPES,
  normalizeCapability,
  type TaskContext,
} from '../model/agent.js';
export {
  compareVersions,
  isValidVersion,
  parseRange,
  parseVersion,
  satisfies,
  type Version,
  type VersionRange,
} from '../model/semver-range.js';
export {
  Agent,
  type AgentHealth,
  type AgentOptions,
  type ExecuteContext,
  METRICS_ALPHA,
} from './agent.js';
export { type AgentClass, BaseAgent, isAgentClass } from './base-agent.js';
export {
  type AgentConfig,
  type AgentConfigInput,
  DEFAULT_AGENT_CONFIG,
  type ResourceLimits,
  type RetryPolicy,
  resolveAgentConfig,
  retryDelay,
} from './config.js';
export {
  type AgentBreak,
  type AgentDefinition,
  type AgentHooks,
  type AgentInitContext,
  type AgentRef,
  type AgentSpec,
  defineAgent,
  type HealthReport,
  isAgentDefinition,
  type TaskToCheck,
} from './definition.js';
export { AgentFactory, type AgentQuery, type AgentSource } from './factory.js';
export {
  AGENT_TRANSITIONS,
  AgentLifecycle,
  type AgentLifecycleOptions,
  canTransition,
  type TransitionEvent,
} from './lifecycle.js';
export type { ListenerErrorHandler } from './listeners.js';
export {
  AgentRegistry,
  type AgentRegistryOptions,
  type RegisteredAgent,
  type RegistryEvent,
} from './registry.js';
