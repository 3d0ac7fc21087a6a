import type { ClusterChannel } from '../contracts/cluster-channel.js';
import { SwitchboardError } from '../errors.js';
import { EventBus } from '../events/event-bus.js';
import { HealthMonitor } from '../health/health-monitor.js';
import type { PluginHost } from '../plugin/plugin-host.js';
import { ClusterAgents } from './cluster/cluster-agents.js';
import { ClusterEventBus } from './cluster/cluster-event-bus.js';
import { ClusterLink } from './cluster/cluster-link.js';
import { Dispatcher } from './dispatch/dispatcher.js';
import { InProcessRunner } from './dispatch/in-process-runner.js';
import type { Engine } from './engine.js';
import { resolveBackoff } from './leases/backoff.js';
import { LeaseBook } from './leases/lease-book.js';
import { checkSwitchboardOptions } from './option-checks.js';
import { positive, type SwitchboardOptions } from './options.js';
import { AgentFailures } from './pool/agent-failures.js';
import { AgentPool } from './pool/agent-pool.js';
import { RemoteAgents } from './remote/remote-agents.js';
import { resolveStreamOptions, taskStreams } from './streams/task-streams.js';
import { ASSIGNMENT_POLICIES, type SubmitInput } from './submit/task-input.js';
import type { TaskHandle } from './submit/task-tracker.js';
import { TaskTracker } from './submit/task-tracker.js';

/**
 * Builds the parts of one Switchboard from its options, strategies resolved through
 * `plugins`. Every bad option fails here, at configuration time, naming the option.
 */
export function createEngine(
  options: SwitchboardOptions,
  plugins: PluginHost,
  submit: (input: SubmitInput) => Promise<TaskHandle>,
): BuiltEngine {
  checkSwitchboardOptions(options);
  const now = options.now ?? Date.now;
  // Background errors are mostly a backend that is briefly unreachable (a Redis restart):
  // the work is retried, so by default they are logged, never thrown into the process.
  // With a logger they go to it, as one line with the error's code.
  const logger = options.logger;
  const onError =
    options.onError ??
    (logger === undefined
      ? (error: unknown) => console.error('[switchboard] background error:', error)
      : (error: unknown) => logger.error(`background error: ${errorText(error)}`, { error }));
  const backend = plugins.backend(options.backend ?? 'memory');
  // A backend with an agent directory but no channel (the journal: one process, agents kept
  // across restarts) gets the directory through a channel that reaches no one.
  const channel = backend.cluster ?? (backend.agents === undefined ? undefined : LOCAL_CHANNEL);
  const busOptions = { now, onError: (error: Error) => onError(error) };
  // Only a backend shared by several processes pays for the cluster-aware bus and tracker.
  const events = channel === undefined ? new EventBus(busOptions) : new ClusterEventBus(busOptions);
  const heartbeatIntervalMs = positive('heartbeatIntervalMs', options.heartbeatIntervalMs, 5_000);
  const heartbeatTimeoutMs = positive('heartbeatTimeoutMs', options.heartbeatTimeoutMs, 15_000);
  if (heartbeatTimeoutMs < heartbeatIntervalMs) {
    throw new SwitchboardError(
      'invalid_config',
      'heartbeatTimeoutMs must be ≥ heartbeatIntervalMs',
    );
  }
  const policies = new Map(Object.entries(options.policies ?? {}));
  for (const [capability, policy] of policies) {
    if (!ASSIGNMENT_POLICIES.includes(policy)) {
      throw new SwitchboardError(
        'invalid_config',
        `policies.${capability}: "${String(policy)}" is not one of ${ASSIGNMENT_POLICIES.join(', ')}`,
      );
    }
  }
  const engine = {
    backend,
    events,
    now,
    random: options.random ?? Math.random,
    balancer: plugins.loadBalancer(options.loadBalancer ?? 'round-robin'),
    recovery: plugins.recovery(options.recovery ?? 'restart'),
    monitor: new HealthMonitor({
      onFailure: (f) => {
        const member = engine.pool.get(f.agentId);
        if (member === undefined) return;
        const cluster = member.remote ? engine.cluster : undefined;
        // Another process may hear the agent now: the directory decides (never failed twice).
        if (cluster !== undefined && f.reason === 'heartbeat_timeout')
          void cluster.timedOut(member, f);
        else {
          cluster?.left(member.id);
          void engine.failures.fail(member, f.reason, f.error);
        }
      },
      sweepIntervalMs: positive('healthSweepIntervalMs', options.healthSweepIntervalMs, 100),
      now,
      onError,
    }),
    backoff: resolveBackoff(options.retry),
    policies,
    taskPolicies: new Map(),
    heartbeatIntervalMs,
    heartbeatTimeoutMs,
    failureWindowMs: positive('failureWindowMs', options.failureWindowMs, 60_000),
    hungGraceMs: positive('hungGraceMs', options.hungGraceMs, 1_000),
    errorRate: errorRateRule(options.errorRate),
    running: false,
    emit: (topic: string, data: () => object) => {
      // Event data is built only when someone listens: the hot path pays one map lookup.
      if (events.hasSubscribers(topic)) events.publish(topic, data());
    },
    listens: (topic: string) => events.hasSubscribers(topic),
    onError,
    submit,
    streams: taskStreams(backend, resolveStreamOptions(options.streams)),
    telemetry: options.telemetry,
    // The parts below take the engine itself, so they are assigned right after.
  } as unknown as Assembling;
  const tracker = new TaskTracker(now());
  engine.tracker = tracker;
  engine.book = new LeaseBook(engine);
  engine.dispatcher = new Dispatcher(engine, `switchboard:${crypto.randomUUID()}`);
  engine.runner = new InProcessRunner(engine);
  engine.remotes = new RemoteAgents(engine);
  engine.failures = new AgentFailures(engine);
  engine.pool = new AgentPool(engine);
  if (channel !== undefined) {
    const link = new ClusterLink(engine, channel, events as ClusterEventBus, tracker);
    engine.link = link;
    if (backend.agents !== undefined) {
      engine.cluster = new ClusterAgents(engine, backend.agents, link, events as ClusterEventBus);
      link.agents = engine.cluster;
    }
  }
  return engine;
}

/** The engine as the facade holds it: the pool is also its public `sb.pool`. */
export interface BuiltEngine extends Engine {
  readonly pool: AgentPool;
}

/** The engine while its parts are assigned, each part being given the engine itself. */
type Assembling = { -readonly [K in keyof BuiltEngine]: BuiltEngine[K] };

/** The channel of a process alone on its backend: nothing to send to, nothing to hear. */
const LOCAL_CHANNEL: ClusterChannel = {
  publish: () => undefined,
  subscribe: () => () => undefined,
};

/** An error as `(code) message` for a log line; anything else as its string. */
function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? `(${code}) ${error.message}` : error.message;
}

/** The `errorRate` option as HealthMonitor track options (which validate the numbers). */
function errorRateRule(rule: SwitchboardOptions['errorRate']): {
  errorRateThreshold?: number;
  minSamples?: number;
} {
  if (rule === undefined) return {};
  const { threshold, minSamples } = rule;
  if (typeof threshold !== 'number' || !(threshold >= 0 && threshold <= 1)) {
    throw new SwitchboardError('invalid_config', 'errorRate.threshold must be a number in 0..1');
  }
  if (minSamples !== undefined && !(Number.isInteger(minSamples) && minSamples >= 1)) {
    throw new SwitchboardError('invalid_config', 'errorRate.minSamples must be an integer ≥ 1');
  }
  return rule.minSamples === undefined
    ? { errorRateThreshold: rule.threshold }
    : { errorRateThreshold: rule.threshold, minSamples: rule.minSamples };
}
