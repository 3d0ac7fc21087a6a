import process from 'node:process';
import type { Logger as CoreLogger, LogFields } from '@switchboard/core';
import pino, { type DestinationStream, type Logger } from 'pino';

/** `--log-level`: the least severe level printed; `silent` prints nothing. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** `--log-format`: `pretty`, one sentence a line for people; `json`, one object a line for shippers. */
export const LOG_FORMATS = ['pretty', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** How the server logs. */
export interface LogSettings {
  readonly level: LogLevel;
  readonly format: LogFormat;
}

/** The server's logger: pino's, called as `log.info(fields, message)`. */
export type ServerLogger = Logger;

/**
 * Where formatted lines go, one at a time without their newline, with pino's numeric level.
 * Default: warnings and errors to stderr, the rest to stdout, each line written synchronously
 * so that the last lines before an exit are not lost.
 */
export type LogSink = (line: string, level: number) => void;

// pino's numeric levels: warn is 40.
const WARN = 40;

const LABELS: Readonly<Record<number, string>> = {
  10: 'trace: ',
  20: 'debug: ',
  40: 'warning: ',
  50: 'error: ',
};

/**
 * A pretty line: `switchboard: ` and the message, the way the server has always printed its
 * startup line, with `warning: ` or `error: ` (and `debug: `, `trace: `) before the message
 * of those levels. A fatal line, the reason a server did not start, has no label: it is the
 * last thing the process says, as a command's error is. The facts of an event are in its
 * message; JSON lines carry them as fields.
 *
 * @example
 * ```ts
 * prettyLine(40, 'task t1 (echo) dead-lettered after 3 attempts: boom')
 * // 'switchboard: warning: task t1 (echo) dead-lettered after 3 attempts: boom'
 * ```
 */
export function prettyLine(level: number, msg: string): string {
  // A message with a newline (an error's) would otherwise read as two events.
  return `switchboard: ${LABELS[level] ?? ''}${msg.replace(/\s*\n\s*/g, ' ')}`;
}

const defaultSink: LogSink = (line, level) => {
  // Both are synchronous for files and pipes on POSIX, and for a TTY.
  (level >= WARN ? process.stderr : process.stdout).write(`${line}\n`);
};

/**
 * A pino destination that reads the level (and, for `pretty`, the message) of each line from
 * what pino hands it along with the line, and passes the line on to `sink`. pino sets
 * `lastLevel` and `lastMsg` on a stream that asks for them, as its own multistream does.
 */
function destination(format: LogFormat, sink: LogSink): DestinationStream {
  const stream = {
    [pino.symbols.needsMetadataGsym]: true,
    lastLevel: 0,
    lastMsg: '',
    write(line: string) {
      const text =
        format === 'json' ? line.trimEnd() : prettyLine(stream.lastLevel, stream.lastMsg);
      sink(text, stream.lastLevel);
    },
  };
  return stream;
}

/**
 * The server's logger. JSON lines carry `level` (its name), `time` (ISO 8601), `name`
 * (`switchboard`), `msg` and the event's fields; an `error` field is serialized with its
 * message, code and stack.
 *
 * @example
 * ```ts
 * const log = createServerLogger({ level: 'info', format: 'json' })
 * log.info({ url: 'http://127.0.0.1:8787' }, 'serving http://127.0.0.1:8787')
 * ```
 */
export function createServerLogger(settings: LogSettings, sink: LogSink = defaultSink): Logger {
  return pino(
    {
      name: 'switchboard',
      level: settings.level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { error: pino.stdSerializers.err },
    },
    destination(settings.format, sink),
  );
}

/**
 * The server's logger as the `logger` option of `createSwitchboard` (core's interface).
 * Between a backend's `backend.unavailable` line and its `backend.back` line, the background
 * errors the outage causes (code `unavailable`: sweeps and heartbeats that failed and will be
 * retried) are logged at debug: the warning has said it once, and the end will be said too.
 */
export function coreLogger(log: Logger): CoreLogger {
  let outage = false;
  return {
    debug: (msg: string, fields?: LogFields) => log.debug(fields ?? {}, msg),
    info: (msg: string, fields?: LogFields) => {
      if (fields?.event === 'backend.back') outage = false;
      log.info(fields ?? {}, msg);
    },
    warn: (msg: string, fields?: LogFields) => {
      if (fields?.event === 'backend.unavailable') outage = true;
      log.warn(fields ?? {}, msg);
    },
    error: (msg: string, fields?: LogFields) => {
      const code = (fields?.error as { code?: unknown } | undefined)?.code;
      if (outage && code === 'unavailable') log.debug(fields ?? {}, msg);
      else log.error(fields ?? {}, msg);
    },
  };
}
