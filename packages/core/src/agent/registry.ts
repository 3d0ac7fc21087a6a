import { LRUCache } from 'lru-cache';
import { SwitchboardError } from '../errors.js';
import type { AgentRole, AgentState, Capability } from '../model/agent.js';
import { parseRange, satisfies } from '../model/semver-range.js';
import { type ListenerErrorHandler, Listeners } from './listeners.js';

/**
 * What the registry needs of an agent. Structural, so the runtime can register
 * richer objects (a live {@link Agent}, a remote agent's record) and get them back typed.
 */
export interface RegisteredAgent {
  readonly id: string;
  readonly name: string;
  readonly role: AgentRole;
  readonly capabilities: readonly Capability[];
  readonly state: AgentState;
}

/** A change of the registry's contents. */
export interface RegistryEvent<A extends RegisteredAgent> {
  readonly type: 'registered' | 'deregistered' | 'updated';
  readonly agent: A;
}

/** Options of an {@link AgentRegistry}. */
export interface AgentRegistryOptions<A extends RegisteredAgent> {
  /** Discovery results kept, one per capability + range asked for; 1000 unless given. */
  readonly cacheSize?: number;
  /** Receives errors thrown by change listeners (they never break a registration). */
  readonly onListenerError?: ListenerErrorHandler<RegistryEvent<A>>;
}

/** What the registry remembers of an agent as indexed, since the agent object may change. */
interface Indexed {
  readonly role: AgentRole;
  readonly capabilities: ReadonlySet<string>;
}

interface CacheEntry<A> {
  readonly generation: number;
  readonly agents: readonly A[];
}

const NONE: readonly never[] = Object.freeze([]);

/** The inner map of `key` in `index`, created when missing. */
function entry<K, A>(index: Map<K, Map<string, A>>, key: K): Map<string, A> {
  let inner = index.get(key);
  if (inner === undefined) {
    inner = new Map();
    index.set(key, inner);
  }
  return inner;
}

/**
 * The agents known to one Switchboard, indexed by capability and role.
 *
 * `discover` costs O(holders of that capability), never O(all agents): a
 * `capability → agents` index is kept up to date, and results are cached per
 * capability + range. The cache is invalidated by a generation number per capability,
 * bumped by `register`, `deregister` and `touch` of an agent holding it, so only the
 * capabilities that changed are recomputed.
 *
 * Discovery ignores agents' states on purpose: states change on every task, and callers
 * filter (`discover('llm', '^2', isLive)`) on the small result instead.
 *
 * @example
 * ```ts
 * const registry = new AgentRegistry()
 * registry.register(agent)
 * registry.discover('llm', '^2', (a) => a.state === 'ready')
 * agent.capabilities.push(normalizeCapability('browser')); registry.touch(agent.id)
 * ```
 */
export class AgentRegistry<A extends RegisteredAgent = RegisteredAgent> {
  private readonly agents = new Map<string, A>();
  private readonly indexed = new Map<string, Indexed>();
  private readonly byCapability = new Map<string, Map<string, A>>();
  private readonly byRoleIndex = new Map<AgentRole, Map<string, A>>();
  private readonly generations = new Map<string, number>();
  private generation = 0;
  private readonly cache: LRUCache<string, CacheEntry<A>>;
  private readonly listeners: Listeners<RegistryEvent<A>>;

  constructor(options: AgentRegistryOptions<A> = {}) {
    const max = options.cacheSize ?? 1000;
    if (!Number.isInteger(max) || max < 1) {
      throw new SwitchboardError(
        'invalid_config',
        `agent registry: cacheSize must be an integer ≥ 1 (got ${String(max)})`,
        { details: { field: 'cacheSize', value: max } },
      );
    }
    this.cache = new LRUCache({ max });
    this.listeners = new Listeners(options.onListenerError);
  }

  /** The number of agents. */
  get size(): number {
    return this.agents.size;
  }

  /**
   * Adds `agent`.
   *
   * @throws SwitchboardError `conflict` when an agent with the same id is registered.
   */
  register(agent: A): void {
    if (this.agents.has(agent.id)) {
      throw new SwitchboardError('conflict', `agent "${agent.id}" is already registered`, {
        details: { agentId: agent.id },
      });
    }
    this.agents.set(agent.id, agent);
    this.index(agent);
    this.listeners.emit({ type: 'registered', agent });
  }

  /** Removes the agent of `id`; `false` when there was none. */
  deregister(id: string): boolean {
    const agent = this.agents.get(id);
    if (agent === undefined) return false;
    this.agents.delete(id);
    this.unindex(id);
    this.listeners.emit({ type: 'deregistered', agent });
    return true;
  }

  /**
   * Re-reads the agent of `id` after its capabilities, role or state changed: the indexes
   * and the cached discoveries of its capabilities (old and new) are brought up to date.
   *
   * @throws SwitchboardError `not_found` when no agent has that id.
   */
  touch(id: string): void {
    const agent = this.agents.get(id);
    if (agent === undefined) {
      throw new SwitchboardError('not_found', `agent "${id}" is not registered`, {
        details: { agentId: id },
      });
    }
    this.unindex(id);
    this.index(agent);
    this.listeners.emit({ type: 'updated', agent });
  }

  /** The agent of `id`, if registered. */
  get(id: string): A | undefined {
    return this.agents.get(id);
  }

  /** True when an agent of `id` is registered. */
  has(id: string): boolean {
    return this.agents.has(id);
  }

  /** Every agent, in registration order. */
  all(): A[] {
    return [...this.agents.values()];
  }

  /** The agents of one role, in registration order. */
  byRole(role: AgentRole): A[] {
    const holders = this.byRoleIndex.get(role);
    return holders === undefined ? [] : [...holders.values()];
  }

  /**
   * The agents holding `capability` at a version in `versionRange` (any version when
   * omitted), in registration order, then kept by `filter` when given. The array is
   * frozen: without a filter it is the cached result itself.
   *
   * @throws SwitchboardError `invalid_request` when `versionRange` is not a valid range.
   */
  discover(
    capability: string,
    versionRange?: string,
    filter?: (agent: A) => boolean,
  ): readonly A[] {
    const found = this.lookup(capability, versionRange);
    return filter === undefined ? found : Object.freeze(found.filter(filter));
  }

  /** Calls `listener` on every registration, deregistration and touch; returns unsubscribe. */
  onChange(listener: (event: RegistryEvent<A>) => void): () => void {
    return this.listeners.add(listener);
  }

  private lookup(capability: string, versionRange: string | undefined): readonly A[] {
    const holders = this.byCapability.get(capability);
    if (holders === undefined) {
      // Parsed anyway so that a malformed range fails whether or not anyone holds it.
      if (versionRange !== undefined) parseRange(versionRange);
      return NONE;
    }
    const key = versionRange === undefined ? capability : `${capability}\u0000${versionRange}`;
    const generation = this.generations.get(capability) ?? 0;
    const cached = this.cache.get(key);
    // A cached key's range was parsed when the entry was made, so hits skip parsing.
    if (cached !== undefined && cached.generation === generation) return cached.agents;
    const range = versionRange === undefined ? undefined : parseRange(versionRange);
    const agents: A[] = [];
    for (const agent of holders.values()) {
      if (
        range === undefined ||
        agent.capabilities.some((c) => c.name === capability && satisfies(c.version, range))
      ) {
        agents.push(agent);
      }
    }
    const entry = { generation, agents: Object.freeze(agents) };
    this.cache.set(key, entry);
    return entry.agents;
  }

  private index(agent: A): void {
    const names = new Set(agent.capabilities.map((c) => c.name));
    this.indexed.set(agent.id, { role: agent.role, capabilities: names });
    for (const name of names) {
      entry(this.byCapability, name).set(agent.id, agent);
      this.generations.set(name, ++this.generation);
    }
    entry(this.byRoleIndex, agent.role).set(agent.id, agent);
  }

  private unindex(id: string): void {
    const entry = this.indexed.get(id);
    if (entry === undefined) return;
    this.indexed.delete(id);
    for (const name of entry.capabilities) {
      const holders = this.byCapability.get(name);
      holders?.delete(id);
      if (holders?.size === 0) {
        // Dropped so that capabilities seen once do not accumulate. Safe for the cache:
        // lookup answers [] without it, and a later holder gets a fresh, higher generation.
        this.byCapability.delete(name);
        this.generations.delete(name);
      } else {
        this.generations.set(name, ++this.generation);
      }
    }
    const sameRole = this.byRoleIndex.get(entry.role);
    sameRole?.delete(id);
    if (sameRole?.size === 0) this.byRoleIndex.delete(entry.role);
  }
}
