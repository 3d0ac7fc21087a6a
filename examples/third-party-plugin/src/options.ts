import { SwitchboardError } from '@switchboard/core';

/** The npm name of this plugin package: the first tag of every error it raises. */
export const PACKAGE = 'switchboard-plugin-latency';

/**
 * An `invalid_config` error naming the package and the strategy, e.g.
 * `[switchboard-plugin-latency] [least-latency] maxErrorRate must be …`.
 */
export function configError(strategy: string, message: string, field?: string): SwitchboardError {
  return new SwitchboardError(
    'invalid_config',
    `[${PACKAGE}] [${strategy}] ${message}`,
    field === undefined ? {} : { details: { plugin: PACKAGE, strategy, field } },
  );
}

/**
 * The options object a factory received. A strategy named without options gets `undefined`,
 * and a config file may hold anything, so the shape is checked rather than trusted.
 */
export function readOptions<O extends object>(strategy: string, options: unknown): Partial<O> {
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw configError(strategy, `options must be an object, got ${describe(options)}`);
  }
  return options as Partial<O>;
}

/**
 * A numeric option within `[min, max]`, or `fallback` when absent.
 *
 * @throws SwitchboardError `invalid_config` naming the package, the strategy and the option.
 */
export function numberOption(
  strategy: string,
  field: string,
  value: unknown,
  fallback: number,
  bounds: { min: number; max?: number; integer?: boolean },
): number {
  if (value === undefined) return fallback;
  const { min, max = Number.POSITIVE_INFINITY, integer = false } = bounds;
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value < min ||
    value > max ||
    (integer && !Number.isInteger(value))
  ) {
    const range = max === Number.POSITIVE_INFINITY ? `≥ ${min}` : `in ${min}..${max}`;
    const kind = integer ? 'an integer' : 'a number';
    throw configError(strategy, `${field} must be ${kind} ${range}, got ${describe(value)}`, field);
  }
  return value;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return typeof value;
}
