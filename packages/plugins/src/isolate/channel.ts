import { type ChildProcess, spawn } from 'node:child_process';
import { execPath, stderr, stdout } from 'node:process';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { SwitchboardError } from '@switchboard/core';
import { childSource } from './child-main.js';
import type { FromChild, ToChild } from './wire.js';

/** How to start a child: in a thread or a process, with its limits. */
export interface ChannelOptions {
  readonly runIn: 'thread' | 'process';
  readonly execArgv: readonly string[];
  /** A thread's heap limit (`resourceLimits`), a process's `--max-old-space-size`. */
  readonly maxHeapMb: number | undefined;
  /** What becomes of the child's standard output and error (see `IsolateOptions.output`). */
  readonly output: 'prefix' | 'inherit' | 'ignore';
  /** The agent's name, which starts each line of its output with `prefix`. */
  readonly label: string;
}

/**
 * Writes each line of `from` to `to` after `prefix`, so that the output of several children
 * and of the host can be told apart; or drops it (`ignore`). A stream a runtime does not give
 * (a Deno worker writes straight to the process's own) is left alone.
 */
function forward(
  from: Readable | null | undefined,
  to: Writable,
  prefix: string | undefined,
): void {
  if (from === null || from === undefined) return;
  if (prefix === undefined) {
    from.resume();
    return;
  }
  createInterface({ input: from, crlfDelay: Number.POSITIVE_INFINITY }).on('line', (line) => {
    to.write(`${prefix}${line}\n`);
  });
}

/**
 * The host's end of one thread or process: messages both ways, and one `onExit` call when it
 * ends, whatever ends it, with what is known of why.
 */
export interface Channel {
  /**
   * Sends a message; throws when it cannot be cloned, or an `agent_failed` SwitchboardError
   * when the child's channel has closed.
   */
  send(message: ToChild): void;
  /** Ends the child now: `terminate()` for a thread, SIGKILL for a process. */
  kill(): void;
}

/** What a channel reports to its owner. */
export interface ChannelEvents {
  message(message: FromChild): void;
  exit(why: string): void;
}

let source: string | undefined;

interface DenoPermissions {
  querySync(descriptor: { name: string }): { state: string };
}

/** Deno's namespace when this runs on Deno, else `undefined`. */
function deno(): { permissions: DenoPermissions } | undefined {
  return (globalThis as { Deno?: { permissions: DenoPermissions } }).Deno;
}

/** The Deno permissions a child may be given: those granted whole to this process. */
const DENO_PERMISSIONS = ['read', 'write', 'net', 'env', 'sys', 'run', 'ffi', 'import'];

/**
 * The child's code as a module URL. Deno runs an `eval` worker's code as a script, where
 * `import()` has no loader, and `deno run` takes a module, so on Deno the code goes as a
 * `data:` URL, whose `import()` of a file URL or a built-in works.
 */
function sourceUrl(code: string): URL {
  return new URL(`data:text/javascript,${encodeURIComponent(code)}`);
}

/** Starts a thread or a process running the child's code. */
export function openChannel(options: ChannelOptions, events: ChannelEvents): Channel {
  source ??= childSource();
  return options.runIn === 'thread'
    ? openThread(source, options, events)
    : openProcess(source, options, events);
}

function openThread(code: string, options: ChannelOptions, events: ChannelEvents): Channel {
  const onDeno = deno() !== undefined;
  const piped = options.output !== 'inherit';
  const worker = new Worker(onDeno ? sourceUrl(code) : code, {
    // Node options do not apply to a Deno worker, which shares its process's flags.
    ...(onDeno ? {} : { eval: true, execArgv: [...options.execArgv] }),
    ...(piped ? { stdout: true, stderr: true } : {}),
    ...(options.maxHeapMb === undefined
      ? {}
      : { resourceLimits: { maxOldGenerationSizeMb: options.maxHeapMb } }),
  });
  if (piped) {
    const prefix =
      options.output === 'prefix' ? `[${options.label} thread ${worker.threadId}] ` : undefined;
    forward(worker.stdout, stdout, prefix);
    forward(worker.stderr, stderr, prefix);
  }
  let error: string | undefined;
  worker.on('message', (message: FromChild) => events.message(message));
  worker.on('error', (thrown: Error & { code?: string }) => {
    error =
      thrown.code === 'ERR_WORKER_OUT_OF_MEMORY'
        ? `ran out of memory (${thrown.message})`
        : `threw ${thrown.name}: ${thrown.message}`;
  });
  worker.on('exit', (code) => events.exit(error ?? `exited with code ${code}`));
  return {
    send: (message) => worker.postMessage(message),
    kill: () => {
      void worker.terminate();
    },
  };
}

/**
 * The command line of a child process: Node's and Bun's `-e` with the code, or on Deno `deno
 * run` with the permissions this process was granted whole (a permission granted only in
 * part, such as `--allow-net=127.0.0.1`, cannot be read back: give it in `execArgv`).
 */
function processArgs(code: string, options: ChannelOptions): string[] {
  const heap = options.maxHeapMb;
  const runtime = deno();
  if (runtime === undefined) {
    const flags = heap === undefined ? [] : [`--max-old-space-size=${heap}`];
    return [...flags, ...options.execArgv, '-e', code];
  }
  const granted = DENO_PERMISSIONS.filter(
    (name) => runtime.permissions.querySync({ name }).state === 'granted',
  ).map((name) => `--allow-${name}`);
  const flags = heap === undefined ? [] : [`--v8-flags=--max-old-space-size=${heap}`];
  return ['run', ...granted, ...flags, ...options.execArgv, sourceUrl(code).href];
}

function openProcess(code: string, options: ChannelOptions, events: ChannelEvents): Channel {
  const out = options.output === 'inherit' ? 'inherit' : 'pipe';
  const child: ChildProcess = spawn(execPath, processArgs(code, options), {
    stdio: ['ignore', out, out, 'ipc'],
    serialization: 'advanced',
  });
  if (out === 'pipe') {
    const prefix =
      options.output === 'prefix' ? `[${options.label} process ${child.pid}] ` : undefined;
    forward(child.stdout, stdout, prefix);
    forward(child.stderr, stderr, prefix);
  }
  let error: string | undefined;
  let ended = false;
  child.on('message', (message: FromChild) => {
    if (message.t === 'crash') error = `threw ${message.error.name}: ${message.error.message}`;
    events.message(message);
  });
  const end = (why: string) => {
    if (ended) return;
    ended = true;
    events.exit(why);
  };
  child.on('error', (thrown) => end(`could not run: ${thrown.message}`));
  child.on('exit', (exitCode, signal) =>
    end(error ?? (signal === null ? `exited with code ${exitCode}` : `was killed by ${signal}`)),
  );
  return {
    send: (message) => {
      // Not a payload's fault: the process is ending, and its exit fails the agent.
      if (!child.connected) {
        throw new SwitchboardError('agent_failed', 'the process has closed its channel');
      }
      child.send(message);
    },
    kill: () => {
      child.kill('SIGKILL');
    },
  };
}
