import { SwitchboardError } from '../errors.js';
import {
  AGENT_ROLES,
  type AgentRole,
  type Capability,
  type CapabilityInput,
  type HealthMetrics,
  normalizeCapability,
  type TaskContext,
} from '../model/agent.js';
import { isValidVersion } from '../model/semver-range.js';
import {
  type AgentConfig,
  type AgentConfigInput,
  CONFIG_KEYS,
  resolveAgentConfig,
} from './config.js';

/** What an agent's init hook receives. */
export interface AgentInitContext {
  readonly agentId: string;
  readonly name: string;
  readonly config: AgentConfig;
  /**
   * Reports that the agent broke outside any task, such as an isolated agent whose thread or
   * process died while idle: in a Switchboard the agent is failed over at once (`reason`
   * `crashed` unless given), as when a handler throws `agent_failed`. Later calls are ignored.
   */
  readonly fail: (error: Error, reason?: AgentBreak) => void;
}

/**
 * Which instance a hook runs for: the pool may run several instances of one definition, and
 * a definition that keeps something per instance (an isolated agent's thread) looks it up by id.
 */
export interface AgentRef {
  readonly agentId: string;
  readonly name: string;
}

/** Why an agent broke outside its tasks: it crashed, or it stopped answering (`hung`). */
export type AgentBreak = 'crashed' | 'hung';

/**
 * What a health check may answer: healthy or not, or figures (any subset of
 * {@link HealthMetrics}) with an optional verdict (healthy unless `healthy: false`).
 */
export type HealthReport = boolean | (Partial<HealthMetrics> & { readonly healthy?: boolean });

/** The hooks of an agent: the task handler, and optional init, shutdown and health check. */
export interface AgentHooks<I, O> {
  /** Runs one task. A thrown value fails the task (non-Errors are wrapped). */
  handle(payload: I, ctx: TaskContext): O | Promise<O>;
  /** Runs once at start, before the agent takes work; throwing fails the start. */
  init?(ctx: AgentInitContext): void | Promise<void>;
  /** Runs once at stop, for the instance `agent` names. */
  shutdown?(agent: AgentRef): void | Promise<void>;
  /** Asked by the health monitor of the instance `agent` names; throwing counts as unhealthy. */
  healthCheck?(agent: AgentRef): HealthReport | Promise<HealthReport>;
  /**
   * Asked at submit, in the submitting process, for each task of a capability the agent has:
   * throwing a `SwitchboardError` of code `invalid_request` refuses the task there and then,
   * before it is queued. An isolated agent uses it to refuse a payload that cannot be copied
   * to its thread or process, which would otherwise fail only once dispatched.
   */
  checkTask?(task: TaskToCheck): void;
}

/** What {@link AgentHooks.checkTask} is shown of a task being submitted. */
export interface TaskToCheck {
  readonly capability: string;
  readonly payload: unknown;
  readonly metadata?: Readonly<Record<string, unknown>>;
}

/** An agent as users write it, given to {@link defineAgent}. */
export interface AgentSpec<I, O> extends AgentHooks<I, O> {
  /** Unique within a factory; also the default display name of its instances. */
  readonly name: string;
  /** `worker` unless given. */
  readonly role?: AgentRole;
  /** The agent's own version, `"1"` unless given. */
  readonly version?: string;
  /** At least one. */
  readonly capabilities: readonly CapabilityInput[];
  readonly config?: AgentConfigInput;
}

/** A validated, frozen agent: what a factory registers and an `Agent` runs. */
export interface AgentDefinition<I = unknown, O = unknown> extends AgentHooks<I, O> {
  readonly name: string;
  readonly role: AgentRole;
  readonly version: string;
  readonly capabilities: readonly Capability[];
  readonly config: AgentConfig;
}

// Definitions made here, so that re-registering one skips validating it again.
const defined = new WeakSet<object>();

/** True when `value` was returned by {@link defineAgent}. */
export function isAgentDefinition(value: unknown): value is AgentDefinition {
  return typeof value === 'object' && value !== null && defined.has(value);
}

const HOOKS = ['init', 'shutdown', 'healthCheck', 'checkTask'] as const;

/**
 * Validates an agent and returns it frozen, with capabilities normalized and the config
 * resolved over the defaults. Hooks keep `spec` as `this`.
 *
 * @throws SwitchboardError `invalid_config` naming the agent and what is wrong.
 * @example
 * ```ts
 * const summarizer = defineAgent({
 *   name: 'summarizer',
 *   capabilities: [{ name: 'llm', version: '2' }],
 *   config: { maxConcurrency: 4 },
 *   async handle(text: string, ctx) { return summarize(text, { signal: ctx.signal }) },
 * })
 * ```
 */
export function defineAgent<I, O>(spec: AgentSpec<I, O>): AgentDefinition<I, O> {
  if (isAgentDefinition(spec)) return spec as AgentDefinition<I, O>;
  if (spec === null || typeof spec !== 'object') {
    throw new SwitchboardError('invalid_config', 'agent definition: expected an object');
  }
  const label = typeof spec.name === 'string' && spec.name !== '' ? `"${spec.name}"` : '(unnamed)';
  const fail = (field: string, why: string) =>
    new SwitchboardError('invalid_config', `agent ${label}: ${field} ${why}`, {
      details: { agent: spec.name, field },
    });
  if (typeof spec.name !== 'string' || spec.name.trim() === '') {
    throw fail('name', 'must be a non-empty string');
  }
  const role = spec.role ?? 'worker';
  if (!AGENT_ROLES.includes(role)) throw fail('role', `must be one of ${AGENT_ROLES.join(', ')}`);
  const version = spec.version ?? '1';
  if (!isValidVersion(version)) throw fail('version', `"${String(version)}" is not a version`);
  if (typeof spec.handle !== 'function') throw fail('handle', 'must be a function');
  for (const hook of HOOKS) {
    if (spec[hook] !== undefined && typeof spec[hook] !== 'function') {
      throw fail(hook, 'must be a function when given');
    }
  }
  // Other keys may hold the agent's own state (hooks run with the spec as `this`), but a
  // config setting written beside `config` would be ignored without a word.
  for (const key of CONFIG_KEYS) {
    if (key in spec) throw fail(key, `is a config setting: write it as config: { ${key} }`);
  }
  if (!Array.isArray(spec.capabilities) || spec.capabilities.length === 0) {
    throw fail('capabilities', 'must list at least one capability');
  }
  const seen = new Set<string>();
  const capabilities = spec.capabilities.map((input: CapabilityInput, i: number) => {
    const where = `capabilities[${i}]`;
    const capability = rethrow(spec.name, '', () => normalizeCapability(input, where));
    const key = `${capability.name}@${capability.version}`;
    if (seen.has(key)) throw fail(`capabilities[${i}]`, `repeats ${key}`);
    seen.add(key);
    return capability;
  });
  const config = rethrow(spec.name, 'config.', () => resolveAgentConfig(spec.config));
  const definition: AgentDefinition<I, O> = {
    name: spec.name,
    role,
    version,
    capabilities: Object.freeze(capabilities),
    config,
    handle: spec.handle.bind(spec),
    ...(spec.init && { init: spec.init.bind(spec) }),
    ...(spec.shutdown && { shutdown: spec.shutdown.bind(spec) }),
    ...(spec.healthCheck && { healthCheck: spec.healthCheck.bind(spec) }),
    ...(spec.checkTask && { checkTask: spec.checkTask.bind(spec) }),
  };
  Object.freeze(definition);
  defined.add(definition);
  return definition;
}

/** Runs `fn`, naming the agent in an `invalid_config` it throws (and `prefix` in its field). */
function rethrow<T>(agent: string, prefix: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    const inner = error as SwitchboardError;
    const field = (inner.details as { field?: string } | undefined)?.field ?? 'definition';
    throw new SwitchboardError('invalid_config', `agent "${agent}": ${inner.message}`, {
      details: { ...(inner.details as object), agent, field: prefix + field },
      cause: error,
    });
  }
}
