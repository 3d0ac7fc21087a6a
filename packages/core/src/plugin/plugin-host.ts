import { createMemoryBackend } from '../backends/memory/memory-backend.js';
import type { MemoryBackendOptions } from '../backends/memory/memory-options.js';
import type { Backend } from '../contracts/backend.js';
import type { LoadBalancer } from '../contracts/load-balancer.js';
import { type Logger, silentLogger } from '../contracts/logger.js';
import type { RecoveryStrategy } from '../contracts/recovery.js';
import type { Serializer } from '../contracts/serializer.js';
import { SwitchboardError, toError } from '../errors.js';
import { jsonSerializer } from './builtin/json.js';
import { type RestartWithBackoffOptions, restartWithBackoff } from './builtin/restart.js';
import { roundRobin } from './builtin/round-robin.js';
import type { PluginContext, PluginHooks, SwitchboardPlugin } from './define-plugin.js';
import { StrategyRegistry, type StrategySpec } from './strategy-registry.js';

function hasMethods(value: unknown, ...methods: string[]): boolean {
  if (value === null || typeof value !== 'object') return false;
  const record = value as Record<string, unknown>;
  return typeof record.name === 'string' && methods.every((m) => typeof record[m] === 'function');
}

/** True for an object that is a load balancer (a name and `select`). */
export const isLoadBalancer = (v: unknown): v is LoadBalancer => hasMethods(v, 'select');
/** True for an object that is a recovery strategy (a name and `onAgentFailure`). */
export const isRecoveryStrategy = (v: unknown): v is RecoveryStrategy =>
  hasMethods(v, 'onAgentFailure');
/** True for an object that is a backend. */
export const isBackend = (v: unknown): v is Backend =>
  hasMethods(v, 'enqueue', 'lease', 'complete', 'fail', 'onAvailable');
/** True for an object that is a serializer. */
export const isSerializer = (v: unknown): v is Serializer => hasMethods(v, 'encode', 'decode');

/**
 * The strategies and hooks known to one Switchboard instance: the built-ins (`round-robin`,
 * `restart`, `json`, `memory`) and whatever its plugins register. Never shared between instances.
 *
 * @example
 * ```ts
 * const host = new PluginHost([myPlugin])
 * host.loadBalancers.resolve('newest-first', isLoadBalancer)
 * ```
 */
export class PluginHost {
  readonly loadBalancers = new StrategyRegistry<LoadBalancer>('loadBalancer');
  readonly recoveries = new StrategyRegistry<RecoveryStrategy>('recovery');
  readonly serializers = new StrategyRegistry<Serializer>('serializer');
  readonly backends = new StrategyRegistry<Backend>('backend');
  readonly hooks: PluginHooks[] = [];
  readonly plugins: string[] = [];
  /** Handed to every plugin's `setup` as `ctx.logger`. */
  readonly logger: Logger;

  /** @throws SwitchboardError `invalid_config` naming the plugin that failed to set up. */
  constructor(plugins: readonly SwitchboardPlugin[] = [], logger: Logger = silentLogger) {
    this.logger = logger;
    // Core's defaults: a plugin may replace each once (the plugins package ships fuller ones).
    const byDefault = { default: true };
    this.loadBalancers.register('round-robin', () => roundRobin(), byDefault);
    this.recoveries.register(
      'restart',
      (o: RestartWithBackoffOptions | undefined) => restartWithBackoff(o ?? {}),
      byDefault,
    );
    this.serializers.register('json', () => jsonSerializer, byDefault);
    this.backends.register(
      'memory',
      (o: MemoryBackendOptions | undefined) => createMemoryBackend(o ?? {}),
      byDefault,
    );
    for (const plugin of plugins) this.use(plugin);
  }

  /** Runs a plugin's `setup`, registering what it declares. */
  use(plugin: SwitchboardPlugin): void {
    if (plugin === null || typeof plugin !== 'object' || typeof plugin.setup !== 'function') {
      throw new SwitchboardError(
        'invalid_config',
        'plugins: expected plugins made by definePlugin',
      );
    }
    if (this.plugins.includes(plugin.name)) {
      throw new SwitchboardError('invalid_config', `plugin "${plugin.name}" is installed twice`);
    }
    const ctx: PluginContext = {
      loadBalancer: (name, factory) => this.loadBalancers.register(name, factory),
      recovery: (name, factory) => this.recoveries.register(name, factory),
      serializer: (name, factory) => this.serializers.register(name, factory),
      backend: (name, factory) => this.backends.register(name, factory),
      hooks: (hooks) => {
        this.hooks.push(hooks);
      },
      logger: this.logger,
    };
    try {
      plugin.setup(ctx);
    } catch (thrown) {
      const error = toError(thrown);
      throw new SwitchboardError('invalid_config', `plugin "${plugin.name}": ${error.message}`, {
        cause: thrown,
        details: { plugin: plugin.name },
      });
    }
    this.plugins.push(plugin.name);
  }

  loadBalancer(spec: StrategySpec<LoadBalancer>): LoadBalancer {
    return this.loadBalancers.resolve(spec, isLoadBalancer);
  }

  recovery(spec: StrategySpec<RecoveryStrategy>): RecoveryStrategy {
    return this.recoveries.resolve(spec, isRecoveryStrategy);
  }

  backend(spec: StrategySpec<Backend>): Backend {
    return this.backends.resolve(spec, isBackend);
  }

  serializer(spec: StrategySpec<Serializer>): Serializer {
    return this.serializers.resolve(spec, isSerializer);
  }

  /** Runs every plugin's `start` (or `stop`) hook in installation order. */
  async run(hook: keyof PluginHooks): Promise<void> {
    for (const hooks of this.hooks) await hooks[hook]?.();
  }
}
