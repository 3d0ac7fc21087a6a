import { SwitchboardError } from '../errors.js';
import type { Priority } from './priority.js';
import { isValidVersion } from './semver-range.js';

/** Every state of an agent's lifecycle, in the order a healthy agent meets them. */
export const AGENT_STATES = [
  'idle',
  'initializing',
  'ready',
  'working',
  'recovering',
  'shutdown',
] as const;

/**
 * The state of an agent: `idle` (created), `initializing` (its init hook runs), `ready`
 * (free to take work), `working` (running at least one task), `recovering` (failed, a
 * recovery strategy decides) or `shutdown` (terminal).
 */
export type AgentState = (typeof AGENT_STATES)[number];

/** Every role an agent may play. */
export const AGENT_ROLES = ['worker', 'coordinator', 'monitor', 'gateway'] as const;

/** An agent's role: `worker` (the default), `coordinator`, `monitor` or `gateway`. */
export type AgentRole = (typeof AGENT_ROLES)[number];

/** The capability types Switchboard knows by name; any other string is allowed too. */
export const KNOWN_CAPABILITY_TYPES = [
  'browser_control',
  'llm_processing',
  'state_management',
  'orchestration',
] as const;

/**
 * The kind of a capability. Editors suggest the known types, yet any string is accepted
 * (the `string & {}` keeps the literal suggestions from collapsing into plain `string`).
 */
export type CapabilityType = (typeof KNOWN_CAPABILITY_TYPES)[number] | (string & {});

/** Something an agent can do, at a version. Tasks name a capability and may ask for a range. */
export interface Capability {
  /** What tasks ask for, e.g. `browser` or `llm`. */
  readonly name: string;
  /** Its kind; defaults to the name. */
  readonly type: CapabilityType;
  /** `"2"`, `"2.1"` or `"1.4.0"`; defaults to `"1"`. */
  readonly version: string;
  /** Free-form settings (a model name, a browser profile). */
  readonly parameters?: Readonly<Record<string, unknown>>;
}

/** A capability as users write it: a bare name, or an object with at least a name. */
export type CapabilityInput = string | (Partial<Capability> & { name: string });

/** The version a capability gets when none is given. */
export const DEFAULT_CAPABILITY_VERSION = '1';

/**
 * Turns a capability as written into a frozen {@link Capability}. Defaults: `type` is the
 * name, `version` is `"1"`, `parameters` stays absent.
 *
 * @param where names the input in error messages (e.g. `capabilities[2]`).
 * @throws SwitchboardError `invalid_config` naming `where` and the bad field.
 * @example
 * ```ts
 * normalizeCapability('llm') // { name: 'llm', type: 'llm', version: '1' }
 * normalizeCapability({ name: 'browser', type: 'browser_control', version: '2.1' })
 * ```
 */
export function normalizeCapability(input: CapabilityInput, where = 'capability'): Capability {
  const fail = (why: string) =>
    new SwitchboardError('invalid_config', `${where}: ${why}`, { details: { field: where } });
  const spec = typeof input === 'string' ? { name: input } : input;
  if (spec === null || typeof spec !== 'object') {
    throw fail('expected a name or an object with a name');
  }
  const { name, type, version, parameters } = spec;
  if (typeof name !== 'string' || name.trim() === '') throw fail('name must be a non-empty string');
  if (type !== undefined && (typeof type !== 'string' || type === '')) {
    throw fail('type must be a non-empty string');
  }
  if (version !== undefined && !isValidVersion(version)) {
    throw fail(`version "${String(version)}" is not "major", "major.minor" or "major.minor.patch"`);
  }
  if (parameters !== undefined && (parameters === null || typeof parameters !== 'object')) {
    throw fail('parameters must be an object');
  }
  const capability: Capability =
    parameters === undefined
      ? { name, type: type ?? name, version: version ?? DEFAULT_CAPABILITY_VERSION }
      : {
          name,
          type: type ?? name,
          version: version ?? DEFAULT_CAPABILITY_VERSION,
          parameters: Object.freeze({ ...parameters }),
        };
  return Object.freeze(capability);
}

/**
 * An agent's health figures. Usages and the error rate are fractions in 0..1; the error
 * rate and latency are moving averages over recent tasks.
 */
export interface HealthMetrics {
  /** CPU use, 0..1, as the agent reports it (0 when it does not). */
  cpuUsage: number;
  /** Memory use, 0..1, as the agent reports it (0 when it does not). */
  memoryUsage: number;
  /** Tasks the agent holds (running or waiting at the agent). */
  queueSize: number;
  /** Share of recent tasks that failed, 0..1. */
  errorRate: number;
  /** Recent task duration, in milliseconds. */
  latencyMs: number;
}

/** Fresh metrics of an agent that has run nothing yet. */
export function emptyMetrics(): HealthMetrics {
  return { cpuUsage: 0, memoryUsage: 0, queueSize: 0, errorRate: 0, latencyMs: 0 };
}

/** What a task handler receives besides its payload. */
export interface TaskContext {
  /** The task's id. */
  readonly taskId: string;
  /** The id of the agent running it. */
  readonly agentId: string;
  /** The capability the task asked for. */
  readonly capability: string;
  /** 1 on the first try, then 2, 3… */
  readonly attempt: number;
  readonly priority: Priority;
  /** Aborted when the task is cancelled, times out or the agent stops. */
  readonly signal: AbortSignal;
  /** When the task's lease ends (epoch ms). */
  readonly deadline?: number;
  /** Tasks with the same key go to the same agent (a browser session, a conversation). */
  readonly sessionKey?: string;
  /** The task's free-form metadata. */
  readonly metadata: Readonly<Record<string, unknown>>;
  /**
   * The W3C trace context of this attempt, when the task carries one: its process span's
   * with a `telemetry`, else the submitter's. Pass it on (a `traceparent` header) to continue
   * the task's trace elsewhere.
   */
  readonly traceparent?: string | undefined;
  /**
   * Reports the task's progress: a number (`0.4`) or a small JSON value (`{ step: 3, of: 10 }`,
   * at most 4 KiB of JSON). Followers see a `task.progress` event, and the last value is on the
   * task's view with when it was reported. Call it as often as you like: writes are coalesced.
   * A call after the attempt ended is ignored.
   *
   * @throws SwitchboardError `invalid_request` (not JSON), `payload_too_large` (over 4 KiB).
   */
  progress(value: unknown): void;
  /**
   * Appends a chunk of partial output (an LLM's tokens, a step's log line: a string or any
   * JSON value) to the task's stream, which clients read as it is produced
   * (`sb.stream(taskId)`, `GET /v1/tasks/{id}/stream`). The stream is bounded: see
   * docs/progress.md. A call after the attempt ended is ignored.
   *
   * @throws SwitchboardError `invalid_request` (not JSON), `payload_too_large` (over `streams.maxChunkBytes`).
   */
  stream(chunk: unknown): void;
}
