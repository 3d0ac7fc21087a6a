import { SwitchboardError } from '../errors.js';

/** Facts of one log line, by name: what a JSON line carries beside its message. */
export type LogFields = Readonly<Record<string, unknown>>;

/**
 * Where Switchboard reports what an operator would want to know and no caller hears: a
 * journal recovered, a backend lost and found again, an error in the background. Four
 * methods, each taking a message and optional fields, so that any logger (pino, winston,
 * the console) fits behind a few lines. Core never prints on its own: without a logger it
 * says nothing (see `createSwitchboard({ logger })`).
 *
 * @example
 * ```ts
 * import pino from 'pino'
 * const log = pino()
 * const logger: Logger = {
 *   debug: (msg, fields) => log.debug(fields ?? {}, msg),
 *   info: (msg, fields) => log.info(fields ?? {}, msg),
 *   warn: (msg, fields) => log.warn(fields ?? {}, msg),
 *   error: (msg, fields) => log.error(fields ?? {}, msg),
 * }
 * createSwitchboard({ logger })
 * ```
 */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

const LOGGER_METHODS = ['debug', 'info', 'warn', 'error'] as const;

const nothing = (): void => undefined;

/** The logger of a Switchboard given none: an embedded library prints nothing unasked. */
export const silentLogger: Logger = Object.freeze({
  debug: nothing,
  info: nothing,
  warn: nothing,
  error: nothing,
});

/**
 * The `logger` option checked: absent gives {@link silentLogger}; anything but an object
 * with the four methods fails at configuration time.
 *
 * @param name the option's name with its path, for the message (`logger`, `switchboard.logger`).
 * @throws SwitchboardError `invalid_config` naming the option and the first method missing.
 */
export function resolveLogger(value: unknown, name = 'logger'): Logger {
  if (value === undefined) return silentLogger;
  if (typeof value !== 'object' || value === null) {
    throw new SwitchboardError(
      'invalid_config',
      `${name} must be an object with ${LOGGER_METHODS.join(', ')} methods, got ${String(value)}`,
      { details: { field: name } },
    );
  }
  const record = value as Record<string, unknown>;
  const missing = LOGGER_METHODS.find((m) => typeof record[m] !== 'function');
  if (missing !== undefined) {
    throw new SwitchboardError(
      'invalid_config',
      `${name}.${missing} must be a function (a logger has ${LOGGER_METHODS.join(', ')})`,
      { details: { field: `${name}.${missing}` } },
    );
  }
  return value as Logger;
}
