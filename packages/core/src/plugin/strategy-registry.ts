import { SwitchboardError } from '../errors.js';

/** A strategy factory: options in, a strategy object out (no base class). */
export type StrategyFactory<S, O = unknown> = (options: O) => S;

/**
 * How options name a strategy: its registered name, a strategy object, or a name with
 * options (`{ name: 'weighted', options: { weights } }`).
 */
export type StrategySpec<S> = string | S | { readonly name: string; readonly options?: unknown };

/**
 * The strategies of one kind (`loadBalancer`, `recovery`, …) known to one Switchboard
 * instance. Never a module global: two instances may know different strategies.
 */
export class StrategyRegistry<S extends { readonly name: string }> {
  readonly #kind: string;
  readonly #factories = new Map<string, StrategyFactory<S>>();
  /** Names of the defaults core ships, which one plugin may replace (e.g. a fuller `restart`). */
  readonly #defaults = new Set<string>();

  constructor(kind: string) {
    this.#kind = kind;
  }

  /**
   * Registers `factory` under `name`. A name registered twice is a configuration error,
   * except a core default (`{ default: true }`), which the first plugin to register the same
   * name replaces.
   */
  register<O>(
    name: string,
    factory: StrategyFactory<S, O>,
    options: { default?: boolean } = {},
  ): void {
    if (typeof name !== 'string' || name.length === 0) {
      throw new SwitchboardError('invalid_config', `${this.#kind}: a strategy needs a name`);
    }
    if (this.#defaults.delete(name)) {
      this.#factories.set(name, factory as StrategyFactory<S>);
      return;
    }
    if (this.#factories.has(name)) {
      throw new SwitchboardError(
        'invalid_config',
        `${this.#kind} "${name}" is registered twice (by two plugins?)`,
      );
    }
    this.#factories.set(name, factory as StrategyFactory<S>);
    if (options.default === true) this.#defaults.add(name);
  }

  has(name: string): boolean {
    return this.#factories.has(name);
  }

  /** The registered names, sorted. */
  names(): string[] {
    return [...this.#factories.keys()].sort();
  }

  /**
   * Resolves a spec to a strategy. An unknown name fails here, at configuration time,
   * with the known names listed.
   */
  resolve(spec: StrategySpec<S>, isStrategy: (value: unknown) => value is S): S {
    if (typeof spec === 'string') return this.#create(spec, undefined);
    if (isStrategy(spec)) return spec;
    if (spec !== null && typeof spec === 'object' && typeof spec.name === 'string') {
      return this.#create(spec.name, (spec as { options?: unknown }).options);
    }
    throw new SwitchboardError(
      'invalid_config',
      `${this.#kind}: expected a name, a ${this.#kind} object or { name, options }`,
    );
  }

  #create(name: string, options: unknown): S {
    const factory = this.#factories.get(name);
    if (!factory) {
      const known = this.names();
      throw new SwitchboardError(
        'invalid_config',
        `unknown ${this.#kind} "${name}"; known: ${known.length > 0 ? known.join(', ') : '(none)'}`,
        { details: { kind: this.#kind, name, known } },
      );
    }
    let strategy: S;
    try {
      strategy = factory(options);
    } catch (cause) {
      // A plugin's own SwitchboardError already names the option; keep its message and details.
      const message = cause instanceof Error ? cause.message : String(cause);
      const details = cause instanceof SwitchboardError ? cause.details : undefined;
      throw new SwitchboardError('invalid_config', `${this.#kind} "${name}": ${message}`, {
        cause,
        details,
      });
    }
    return strategy;
  }
}
