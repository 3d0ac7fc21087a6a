import { SwitchboardError } from '@switchboard/core';

/**
 * An `invalid_config` error that names the plugin, e.g.
 * `[switchboard] [weighted] weights must be positive`.
 */
export function configError(plugin: string, message: string, details?: unknown): SwitchboardError {
  return new SwitchboardError(
    'invalid_config',
    `[switchboard] [${plugin}] ${message}`,
    details === undefined ? {} : { details },
  );
}

/**
 * The options object a factory received. Registries pass `undefined` when a strategy is
 * named without options, and a config file may hold anything, so this checks the shape.
 */
export function readOptions<O extends object>(plugin: string, options: unknown): Partial<O> {
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw configError(plugin, `options must be an object, got ${describe(options)}`);
  }
  return options as Partial<O>;
}

/** Bounds a numeric option may have to be. */
export interface NumberRule {
  /** The value must be an integer. */
  integer?: boolean;
  /** The smallest allowed value (inclusive); defaults to just above 0. */
  min?: number;
  /** The largest allowed value (inclusive). */
  max?: number;
}

/**
 * A numeric option, or `fallback` when absent. Without `min`, the value must be > 0.
 *
 * @throws SwitchboardError `invalid_config` naming the plugin and the option.
 */
export function numberOption(
  plugin: string,
  field: string,
  value: unknown,
  fallback: number,
  rule: NumberRule = {},
): number {
  if (value === undefined) return fallback;
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (rule.min === undefined ? value > 0 : value >= rule.min) &&
    (rule.max === undefined || value <= rule.max) &&
    (!rule.integer || Number.isInteger(value));
  if (!ok) {
    const bounds = [rule.min === undefined ? '> 0' : `>= ${rule.min}`];
    if (rule.max !== undefined) bounds.push(`<= ${rule.max}`);
    const kind = rule.integer ? 'an integer' : 'a number';
    throw configError(
      plugin,
      `${field} must be ${kind} ${bounds.join(' and ')}, got ${describe(value)}`,
      { field },
    );
  }
  return value as number;
}

type AnyFunction = (...args: never[]) => unknown;

/**
 * A function option (an injected `random`, a scorer), or `fallback` when absent.
 *
 * @throws SwitchboardError `invalid_config` naming the plugin and the option.
 */
export function functionOption<F extends AnyFunction>(
  plugin: string,
  field: string,
  value: unknown,
  fallback: F,
): F;
export function functionOption<F extends AnyFunction>(
  plugin: string,
  field: string,
  value: unknown,
): F | undefined;
export function functionOption<F extends AnyFunction>(
  plugin: string,
  field: string,
  value: unknown,
  fallback?: F,
): F | undefined {
  if (value === undefined) return fallback;
  if (typeof value !== 'function') {
    throw configError(plugin, `${field} must be a function, got ${describe(value)}`, { field });
  }
  return value as F;
}

/** A short description of a bad value for an error message. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return typeof value;
}
