import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AgentConfigInput } from '@switchboard/core';
import { configError, describe, numberOption, readOptions } from '../shared/index.js';

/** The name errors of this module carry: `[switchboard] [isolate] …`. */
export const ISOLATE = 'isolate';

/** Where an isolated agent runs, and its limits. */
export interface IsolateOptions {
  /** A worker thread (`thread`) or a child process (`process`). Required. */
  readonly runIn: 'thread' | 'process';
  /** The module's export that holds the agent (default `default`). */
  readonly export?: string;
  /**
   * Overrides of the agent's config. `maxConcurrency` is the tasks one thread or process
   * runs at once; `heartbeatIntervalMs` and `heartbeatTimeoutMs` are how often the child
   * beats over its channel and the silence after which it is taken as hung and killed.
   */
  readonly config?: AgentConfigInput;
  /**
   * The JavaScript heap of each thread or process, in MiB: a thread's `resourceLimits`, a
   * process's `--max-old-space-size`. Past it the child dies of out-of-memory, a crash.
   */
  readonly maxHeapMb?: number;
  /**
   * Processes only: a process whose resident memory passes this, in MiB, is recycled (a new
   * one takes the next tasks, the old one ends when its tasks have finished).
   */
  readonly maxRssMb?: number;
  /** A thread or process is recycled after taking this many tasks (default never). */
  readonly maxTasks?: number;
  /**
   * Runtime options for each thread or process (`--enable-source-maps`, `--import tsx`…); on
   * Deno, `deno run` flags for each process (permissions given in part), and none for threads.
   */
  readonly execArgv?: readonly string[];
  /**
   * What becomes of each child's standard output and error: `prefix` (the default) writes
   * each line to the host's own, after `[agent thread|process id] `; `inherit` lets the child
   * write to them directly; `ignore` drops them.
   */
  readonly output?: 'prefix' | 'inherit' | 'ignore';
  /** How long a stopping child may take to run its shutdown hook before it is killed (default 5 000 ms). */
  readonly stopTimeoutMs?: number;
}

/** {@link IsolateOptions} checked, with the module as a file URL. */
export interface ResolvedIsolate {
  readonly module: string;
  readonly runIn: 'thread' | 'process';
  readonly exportName: string;
  readonly config: AgentConfigInput | undefined;
  readonly maxHeapMb: number | undefined;
  readonly maxRssMb: number | undefined;
  readonly maxTasks: number | undefined;
  readonly execArgv: readonly string[];
  readonly output: 'prefix' | 'inherit' | 'ignore';
  readonly stopTimeoutMs: number;
}

const KEYS = [
  'runIn',
  'export',
  'config',
  'maxHeapMb',
  'maxRssMb',
  'maxTasks',
  'execArgv',
  'output',
  'stopTimeoutMs',
];

const OUTPUTS = ['prefix', 'inherit', 'ignore'];

/** The module as a URL string: a `URL`, a `file:` URL string, or an absolute path. */
function moduleUrl(module: unknown): string {
  if (module instanceof URL) return module.href;
  if (typeof module === 'string' && module.startsWith('file:')) return module;
  if (typeof module === 'string' && isAbsolute(module)) return pathToFileURL(module).href;
  throw configError(
    ISOLATE,
    `the agent module must be a URL or an absolute path (new URL('./agent.js', import.meta.url)), got ${describe(module)}`,
    { field: 'module' },
  );
}

/**
 * Checks the options of {@link isolate}.
 *
 * @throws SwitchboardError `invalid_config` naming the option, or an unknown key with the
 * known ones.
 */
export function resolveIsolate(module: unknown, options: unknown): ResolvedIsolate {
  const opts = readOptions<IsolateOptions>(ISOLATE, options);
  for (const key of Object.keys(opts)) {
    if (!KEYS.includes(key)) {
      throw configError(ISOLATE, `unknown option "${key}"; known: ${KEYS.join(', ')}`, {
        field: key,
      });
    }
  }
  if (opts.runIn !== 'thread' && opts.runIn !== 'process') {
    throw configError(ISOLATE, `runIn must be "thread" or "process", got ${describe(opts.runIn)}`, {
      field: 'runIn',
    });
  }
  const exportName = opts.export ?? 'default';
  if (typeof exportName !== 'string' || exportName === '') {
    throw configError(ISOLATE, `export must be a non-empty string, got ${describe(exportName)}`);
  }
  const execArgv = opts.execArgv ?? [];
  if (!Array.isArray(execArgv) || execArgv.some((a) => typeof a !== 'string')) {
    throw configError(ISOLATE, 'execArgv must be an array of strings', { field: 'execArgv' });
  }
  const output = opts.output ?? 'prefix';
  if (!OUTPUTS.includes(output)) {
    throw configError(
      ISOLATE,
      `output must be one of ${OUTPUTS.join(', ')}, got ${describe(output)}`,
      { field: 'output' },
    );
  }
  if (opts.maxRssMb !== undefined && opts.runIn === 'thread') {
    throw configError(
      ISOLATE,
      'maxRssMb applies to processes only (threads share their process): use maxHeapMb',
      { field: 'maxRssMb' },
    );
  }
  const optional = (field: 'maxHeapMb' | 'maxRssMb' | 'maxTasks', integer: boolean) =>
    opts[field] === undefined
      ? undefined
      : numberOption(ISOLATE, field, opts[field], 0, { integer, min: 1 });
  return {
    module: moduleUrl(module),
    runIn: opts.runIn,
    exportName,
    config: opts.config,
    maxHeapMb: optional('maxHeapMb', false),
    maxRssMb: optional('maxRssMb', false),
    maxTasks: optional('maxTasks', true),
    execArgv,
    output,
    stopTimeoutMs: numberOption(ISOLATE, 'stopTimeoutMs', opts.stopTimeoutMs, 5_000),
  };
}
