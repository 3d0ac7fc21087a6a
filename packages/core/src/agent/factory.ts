import { SwitchboardError } from '../errors.js';
import type { AgentRole } from '../model/agent.js';
import {
  compareVersions,
  parseRange,
  parseVersion,
  satisfies,
  type Version,
} from '../model/semver-range.js';
import { Agent, type AgentOptions } from './agent.js';
import { type AgentClass, BaseAgent, isAgentClass } from './base-agent.js';
import { type AgentDefinition, type AgentSpec, defineAgent } from './definition.js';

/** Anything a factory accepts as an agent: a definition or spec, a `BaseAgent`, or its class. */
export type AgentSource<I = unknown, O = unknown> =
  | AgentDefinition<I, O>
  | AgentSpec<I, O>
  | BaseAgent<I, O>
  | AgentClass<I, O>;

/** What {@link AgentFactory.createFor} looks for. */
export interface AgentQuery {
  /** The capability the agent must have. */
  readonly capability: string;
  /** A range its version must satisfy (any version unless given). */
  readonly versionRange?: string;
  /** The role it must play (any role unless given). */
  readonly role?: AgentRole;
}

/**
 * Makes agents from registered definitions, by name or by what they can do. Each factory
 * has its own definitions (no module-level registry), so two Switchboards never share them.
 *
 * @example
 * ```ts
 * const factory = new AgentFactory()
 * factory.register(summarizer)   // a definition, a BaseAgent instance or class
 * const a = factory.create('summarizer', { config: { maxConcurrency: 8 } })
 * const b = factory.createFor({ capability: 'llm', versionRange: '^2' })
 * ```
 */
export class AgentFactory {
  private readonly definitions = new Map<string, AgentDefinition>();

  /** The names of the registered definitions, in registration order. */
  names(): string[] {
    return [...this.definitions.keys()];
  }

  /** True when a definition of `name` is registered. */
  has(name: string): boolean {
    return this.definitions.has(name);
  }

  /** The definition of `name`, if registered. */
  get(name: string): AgentDefinition | undefined {
    return this.definitions.get(name);
  }

  /**
   * Validates and registers an agent; returns its definition.
   *
   * @throws SwitchboardError `invalid_config` when it is invalid; `conflict` when a
   * definition of the same name is registered.
   */
  register<I, O>(source: AgentSource<I, O>): AgentDefinition<I, O> {
    const definition = isAgentClass(source)
      ? (new source().toDefinition() as AgentDefinition<I, O>)
      : source instanceof BaseAgent
        ? source.toDefinition()
        : defineAgent(source as AgentSpec<I, O>);
    if (this.definitions.has(definition.name)) {
      throw new SwitchboardError('conflict', `agent "${definition.name}" is already registered`, {
        details: { name: definition.name },
      });
    }
    this.definitions.set(definition.name, definition as AgentDefinition);
    return definition;
  }

  /** Removes the definition of `name`; `false` when there was none. */
  unregister(name: string): boolean {
    return this.definitions.delete(name);
  }

  /**
   * A new, idle agent of the definition `name`; `options.config` overrides its config.
   *
   * @throws SwitchboardError `not_found` listing the known names; `invalid_config` when
   * the overrides are invalid.
   */
  create<I = unknown, O = unknown>(name: string, options?: AgentOptions): Agent<I, O> {
    const definition = this.definitions.get(name);
    if (definition === undefined) {
      throw this.notFound(`no agent named "${name}"`, { name });
    }
    return new Agent(definition as AgentDefinition<I, O>, options);
  }

  /**
   * The definition that best answers `query`: among those with the capability at a version
   * in the range (and the role, when asked), the highest capability version, then the
   * highest agent version, then the first registered.
   *
   * @throws SwitchboardError `invalid_request` when the range is invalid.
   */
  find(query: AgentQuery): AgentDefinition | undefined {
    const range = query.versionRange === undefined ? undefined : parseRange(query.versionRange);
    let best: { definition: AgentDefinition; capability: Version; own: Version } | undefined;
    for (const definition of this.definitions.values()) {
      if (query.role !== undefined && definition.role !== query.role) continue;
      for (const c of definition.capabilities) {
        if (c.name !== query.capability) continue;
        const version = parseVersion(c.version);
        if (range !== undefined && !satisfies(version, range)) continue;
        const own = parseVersion(definition.version);
        const better =
          best === undefined ||
          (compareVersions(version, best.capability) || compareVersions(own, best.own)) > 0;
        if (better) best = { definition, capability: version, own };
      }
    }
    return best?.definition;
  }

  /**
   * A new, idle agent of the definition {@link find} picks.
   *
   * @throws SwitchboardError `not_found` listing the known names when none matches.
   */
  createFor<I = unknown, O = unknown>(query: AgentQuery, options?: AgentOptions): Agent<I, O> {
    const definition = this.find(query);
    if (definition === undefined) {
      const range = query.versionRange === undefined ? '' : ` ${query.versionRange}`;
      const role = query.role === undefined ? '' : ` with role ${query.role}`;
      throw this.notFound(`no agent has capability "${query.capability}${range}"${role}`, query);
    }
    return new Agent(definition as AgentDefinition<I, O>, options);
  }

  private notFound(what: string, details: object): SwitchboardError {
    const known = this.names();
    const list = known.length === 0 ? 'none registered' : `known: ${known.join(', ')}`;
    return new SwitchboardError('not_found', `agent factory: ${what} (${list})`, {
      details: { ...details, known },
    });
  }
}
