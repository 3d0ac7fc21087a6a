import type { Backend } from '../contracts/backend.js';
import type { LoadBalancer } from '../contracts/load-balancer.js';
import type { Logger } from '../contracts/logger.js';
import type { RecoveryStrategy } from '../contracts/recovery.js';
import type { Serializer } from '../contracts/serializer.js';
import { SwitchboardError } from '../errors.js';
import type { StrategyFactory } from './strategy-registry.js';

/** Lifecycle hooks a plugin may register. */
export interface PluginHooks {
  /** After the Switchboard has started (backend open, agents started). */
  start?: () => void | Promise<void>;
  /** During shutdown, after work has drained, before the backend closes. */
  stop?: () => void | Promise<void>;
}

/** What a plugin's `setup` receives: registration by kind, for one Switchboard instance. */
export interface PluginContext {
  loadBalancer<O>(name: string, factory: StrategyFactory<LoadBalancer, O>): void;
  recovery<O>(name: string, factory: StrategyFactory<RecoveryStrategy, O>): void;
  serializer<O>(name: string, factory: StrategyFactory<Serializer, O>): void;
  backend<O>(name: string, factory: StrategyFactory<Backend, O>): void;
  hooks(hooks: PluginHooks): void;
  /**
   * The Switchboard's `logger` option (silent when none was given): where a strategy reports
   * what an operator should hear of, such as a backend recovering its state or losing its
   * connection.
   */
  readonly logger: Logger;
}

/** A Switchboard plugin: a name and a synchronous `setup` that registers strategies. */
export interface SwitchboardPlugin {
  readonly name: string;
  setup(ctx: PluginContext): void;
}

/**
 * Declares a plugin. Strategies it registers are then selectable by name in options.
 *
 * @example
 * ```ts
 * export default definePlugin({
 *   name: 'my-balancers',
 *   setup(ctx) {
 *     ctx.loadBalancer('newest-first', () => ({
 *       name: 'newest-first',
 *       select: (c) => c.filter((a) => a.freeSlots > 0).at(-1),
 *     }))
 *   },
 * })
 * // createSwitchboard({ plugins: [myBalancers], loadBalancer: 'newest-first' })
 * ```
 */
export function definePlugin(plugin: SwitchboardPlugin): SwitchboardPlugin {
  if (plugin === null || typeof plugin !== 'object') {
    throw new SwitchboardError('invalid_config', 'definePlugin: expected { name, setup }');
  }
  if (typeof plugin.name !== 'string' || plugin.name.length === 0) {
    throw new SwitchboardError('invalid_config', 'definePlugin: a plugin needs a non-empty name');
  }
  if (typeof plugin.setup !== 'function') {
    throw new SwitchboardError(
      'invalid_config',
      `plugin "${plugin.name}": setup must be a function`,
    );
  }
  return Object.freeze({ name: plugin.name, setup: plugin.setup });
}
