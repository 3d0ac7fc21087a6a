import { z } from 'zod';
import { keyString, metadataSchema, nonNegativeInt } from './common.js';
import { answerSchema, MAX_ANSWERS } from './task-schema.js';

/** The longest `waitMs` of a lease long-poll. */
export const MAX_LEASE_WAIT_MS = 30_000;
/** The most tasks one lease request may ask for. */
export const MAX_LEASE_BATCH = 1000;

// Same grammar as the agent model's versions: "major", "major.minor" or "major.minor.patch".
const VERSION = /^(0|[1-9]\d{0,14})(\.(0|[1-9]\d{0,14}))?(\.(0|[1-9]\d{0,14}))?$/;

/** An agent's role; `worker` by default. */
export const agentRoleSchema = z
  .enum(['worker', 'coordinator', 'monitor', 'gateway'])
  .meta({ id: 'AgentRole' });

/** An agent's lifecycle state. */
export const agentStateSchema = z
  .enum(['idle', 'initializing', 'ready', 'working', 'recovering', 'shutdown'])
  .meta({ id: 'AgentState' });

/** A capability as written: a bare name, or `{ name, version?, type?, parameters? }`. */
export const capabilitySchema = z
  .union([
    keyString('A capability name'),
    z.object({
      name: keyString('What tasks ask for, e.g. browser or llm'),
      version: z
        .string()
        .regex(VERSION, 'expected "major", "major.minor" or "major.minor.patch"')
        .exactOptional(),
      type: keyString('Its kind; defaults to the name').exactOptional(),
      parameters: metadataSchema.exactOptional(),
    }),
  ])
  .meta({ id: 'Capability' });

/**
 * The body of `POST /v1/agents`. Only `capabilities` is required; an agent registered without
 * a `name` is named after its id.
 *
 * @example
 * ```ts
 * validate(agentRegisterSchema, { name: 'browser-1', capabilities: ['browser'] })
 * // { name: 'browser-1', role: 'worker', capabilities: ['browser'], maxConcurrency: 1 }
 * ```
 */
export const agentRegisterSchema = z
  .object({
    name: keyString('A human-readable name; the agent id when left out').exactOptional(),
    role: agentRoleSchema.default('worker'),
    capabilities: z.array(capabilitySchema).min(1).max(1000),
    maxConcurrency: z.number().int().min(1).max(1_000_000).default(1),
    metadata: metadataSchema.exactOptional(),
  })
  .meta({ id: 'AgentRegister', description: 'A remote agent joining the pool' });

const fraction = z.number().min(0).max(1);

/** Health figures an agent reports; any further numeric figure is kept as given. */
export const agentMetricsSchema = z
  .object({
    cpuUsage: fraction.exactOptional(),
    memoryUsage: fraction.exactOptional(),
    queueSize: nonNegativeInt('Tasks waiting at the agent').exactOptional(),
    errorRate: fraction.exactOptional(),
    latencyMs: z.number().min(0).exactOptional(),
  })
  .catchall(z.number())
  .meta({ id: 'AgentMetrics' });

/** The body of `POST /v1/agents/{id}/heartbeat` (optional as a whole). */
export const heartbeatSchema = z
  .object({ metrics: agentMetricsSchema.exactOptional() })
  .meta({ id: 'Heartbeat' });

/** The body of `POST /v1/agents/{id}/lease` (optional as a whole). */
export const leaseRequestSchema = z
  .object({
    max: z.number().int().min(1).max(MAX_LEASE_BATCH).default(1),
    waitMs: z.number().int().min(0).max(MAX_LEASE_WAIT_MS).default(0),
    answers: z
      .array(answerSchema)
      .max(MAX_ANSWERS)
      .describe(
        'Completions and failures applied before leasing, as POST /v1/tasks/answers applies them',
      )
      .exactOptional(),
  })
  .meta({ id: 'LeaseRequest' });

/** An agent as the API shows it. */
export const agentViewSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    role: agentRoleSchema,
    state: agentStateSchema,
    capabilities: z.array(capabilitySchema),
    maxConcurrency: z.number().int().min(1),
    activeTasks: nonNegativeInt('Tasks it holds now'),
    heartbeatIntervalMs: nonNegativeInt('How often it should heartbeat'),
    heartbeatTimeoutMs: nonNegativeInt('Silence after which it is taken as failed'),
    registeredAt: nonNegativeInt('Epoch ms'),
    lastHeartbeatAt: nonNegativeInt('Epoch ms'),
    remote: z
      .boolean()
      .meta({ description: 'True for an agent working over HTTP, false for an in-process one' }),
  })
  .meta({ id: 'Agent' });

/** `{"agents": [agent, ...]}`. */
export const agentListSchema = z
  .object({ agents: z.array(agentViewSchema) })
  .meta({ id: 'AgentList' });

/** A registration as a client writes it. */
export type AgentRegisterInput = z.input<typeof agentRegisterSchema>;
/** A validated registration, defaults applied. */
export type AgentRegister = z.output<typeof agentRegisterSchema>;
/** A capability as written. */
export type CapabilitySpec = z.output<typeof capabilitySchema>;
/** A validated heartbeat body. */
export type Heartbeat = z.output<typeof heartbeatSchema>;
/** A validated lease request, defaults applied. */
export type LeaseRequest = z.output<typeof leaseRequestSchema>;
/** An agent as the API shows it. */
export type AgentView = z.output<typeof agentViewSchema>;
