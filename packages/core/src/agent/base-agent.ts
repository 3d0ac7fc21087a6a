import type { AgentRole, CapabilityInput, TaskContext } from '../model/agent.js';
import type { AgentConfigInput } from './config.js';
import {
  type AgentDefinition,
  type AgentInitContext,
  type AgentSpec,
  defineAgent,
  type HealthReport,
} from './definition.js';

/**
 * A base class for agents written as classes: declare the name and capabilities as fields,
 * implement `handle`, and override `init`, `shutdown` or `healthCheck` when needed.
 * Hooks run with the instance as `this`, so they may keep state (a browser, a client).
 *
 * @example
 * ```ts
 * class Browser extends BaseAgent<{ url: string }, string> {
 *   readonly name = 'browser'
 *   readonly capabilities = [{ name: 'browser', type: 'browser_control', version: '2' }]
 *   override readonly config = { maxConcurrency: 2 }
 *   private page?: Page
 *   override async init() { this.page = await launch() }
 *   async handle({ url }: { url: string }) { return this.page!.goto(url) }
 * }
 * factory.register(Browser)
 * ```
 */
export abstract class BaseAgent<I = unknown, O = unknown> {
  /** Unique within a factory. */
  abstract readonly name: string;
  /** At least one. */
  abstract readonly capabilities: readonly CapabilityInput[];
  /** `worker` unless overridden. */
  readonly role: AgentRole = 'worker';
  /** `"1"` unless overridden. */
  readonly version: string = '1';
  /** Overrides of the default config. */
  readonly config: AgentConfigInput = {};

  /** Runs one task. */
  abstract handle(payload: I, ctx: TaskContext): O | Promise<O>;
  /** Runs once at start. */
  init?(ctx: AgentInitContext): void | Promise<void>;
  /** Runs once at stop. */
  shutdown?(): void | Promise<void>;
  /** Answers the health monitor. */
  healthCheck?(): HealthReport | Promise<HealthReport>;

  /**
   * Validates this agent and returns its frozen definition.
   *
   * @throws SwitchboardError `invalid_config` as {@link defineAgent} does.
   */
  toDefinition(): AgentDefinition<I, O> {
    const spec: AgentSpec<I, O> = {
      name: this.name,
      role: this.role,
      version: this.version,
      capabilities: this.capabilities,
      config: this.config,
      handle: (payload, ctx) => this.handle(payload, ctx),
      ...(this.init && { init: (ctx: AgentInitContext) => this.init?.(ctx) }),
      ...(this.shutdown && { shutdown: () => this.shutdown?.() }),
      ...(this.healthCheck && { healthCheck: () => this.healthCheck?.() ?? true }),
    };
    return defineAgent(spec);
  }
}

/** A class extending {@link BaseAgent} with a constructor taking no argument. */
export type AgentClass<I = unknown, O = unknown> = new () => BaseAgent<I, O>;

/** True when `value` is a class extending {@link BaseAgent}. */
export function isAgentClass(value: unknown): value is AgentClass {
  return typeof value === 'function' && value.prototype instanceof BaseAgent;
}
