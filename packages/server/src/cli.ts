import { readFile } from 'node:fs/promises';
import { dirname, resolve as resolvePath } from 'node:path';
import process from 'node:process';
import { pathToFileURL } from 'node:url';
import {
  createSwitchboard,
  type PriorityQueue,
  type RateLimiter,
  type ShutdownSummary,
  SwitchboardError,
  type TokenBucketOptions,
} from '@switchboard/core';
import { builtinPlugin } from '@switchboard/plugins';
import { createApp } from './app.js';
import {
  backendSpec,
  parseArgs,
  type ResolvedConfig,
  resolveConfig,
  type ServerConfig,
} from './config.js';
import { checkServerConfig } from './config-file.js';
import { authLabel, checkExposure } from './exposure.js';
import { Lifecycle } from './lifecycle.js';
import { resolvePlugins } from './plugin-packages.js';
import type { Listening, RuntimeAdapter } from './runtime.js';
import { type StopOptions, stopOnSignals, stoppedLine } from './signals.js';

/** What `switchboard --help` prints; its first line is the usage of `switchboard serve`. */
export const USAGE = `Usage: switchboard serve [--port 8787] [--host 127.0.0.1] [--backend memory|journal:<dir>|redis://host:port] [--config file.json|file.mjs] [--allow-unauthenticated]
       switchboard <agents|tasks|task|dead-letters|replay|cancel|stats|tail|submit> [--url URL] [--token TOKEN] [--json]

The second form operates a running server (SWITCHBOARD_URL and SWITCHBOARD_TOKEN stand in for
--url and --token); \`switchboard <command> --help\` describes each command. Exit codes: 0 done,
1 the server refused, 2 usage error, 3 server unreachable (docs/cli.md).

A host other than loopback needs a token (auth on), or --allow-unauthenticated to serve it open.

Environment: PORT, HOST, SWITCHBOARD_BACKEND, SWITCHBOARD_HEARTBEAT_TIMEOUT_MS,
SWITCHBOARD_ADMIN_TOKEN, SWITCHBOARD_CLIENT_TOKEN, SWITCHBOARD_AGENT_TOKEN, SWITCHBOARD_MAX_BODY_BYTES.
SIGTERM or SIGINT drains: /readyz answers 503, new work 503, tasks in flight finish, nothing
queued is leased; a last line counts what finished and what is left queued (dropped on the
memory backend, kept on a durable one). A second signal during the drain exits at once.`;

/** Reads a config file: JSON, or an ES module whose default export is the config or makes it. */
export async function loadConfigFile(path: string): Promise<ServerConfig> {
  const full = resolvePath(path);
  let value: unknown;
  try {
    if (full.endsWith('.json')) value = JSON.parse(await readFile(full, 'utf8'));
    else {
      const mod = (await import(pathToFileURL(full).href)) as { default?: unknown };
      value =
        typeof mod.default === 'function' ? await (mod.default as () => unknown)() : mod.default;
    }
  } catch (err) {
    throw new SwitchboardError(
      'invalid_config',
      `cannot load config ${full}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SwitchboardError(
      'invalid_config',
      `config ${full} must be (or export by default) an object`,
    );
  }
  try {
    return checkServerConfig(value);
  } catch (err) {
    const { message, details } = err as SwitchboardError;
    throw new SwitchboardError('invalid_config', `config ${full}: ${message}`, {
      details,
      cause: err,
    });
  }
}

type NativeModule = typeof import('@switchboard/native');

/** The hot path the server runs on: the factories it passes to core, and what they make. */
interface HotPath {
  /** For the startup line: which implementation serves which part, or why none is native. */
  readonly label: string;
  /** The memory backend's queue factory, when native is loaded and the memory backend runs. */
  readonly createQueue?: <T>() => PriorityQueue<T>;
  /** The factory of core's submit rate limiters, when native is loaded. */
  readonly createRateLimiter?: (options: TokenBucketOptions) => RateLimiter;
}

/**
 * Wires `@switchboard/native` into core through its options when the addon loads. Each
 * factory picks the implementation measured faster for how core calls it, and the label
 * says what they actually make (checked on one instance each), not what was hoped for.
 * `memoryQueue`: the memory backend runs, so its queues are ours to choose;
 * `configLimiter`: the config file passes its own `createRateLimiter`, which is used.
 */
async function hotPath(memoryQueue: boolean, configLimiter: boolean): Promise<HotPath> {
  const fromConfig = configLimiter ? ', config (limiter)' : '';
  let native: NativeModule;
  try {
    native = await import('@switchboard/native');
  } catch (err) {
    // The package itself is missing from this build or runtime: the TS hot path runs.
    return { label: `ts (native addon not loaded: ${(err as Error).message})${fromConfig}` };
  }
  const loaded = native.loadNative();
  if (loaded.backend !== 'native') {
    const reason = loaded.reason ?? 'no reason given';
    return { label: `ts (native addon not loaded: ${reason})${fromConfig}` };
  }
  // The memory backend fills a lane with one pushMany per batch and drains it with popMany.
  const createQueue = <T>() => native.createPriorityQueue<T>({ workload: 'batch' });
  // Core checks each submit (or submit batch) with one tryAcquire per limiter: single calls.
  const createRateLimiter = (options: TokenBucketOptions) =>
    native.createRateLimiter(options, { workload: 'single' });
  const uses = new Map<string, string[]>();
  const use = (isNative: boolean, part: string) => {
    const impl = isNative ? 'native' : 'ts';
    uses.set(impl, [...(uses.get(impl) ?? []), part]);
  };
  if (memoryQueue) use(createQueue() instanceof native.NativePriorityQueue, 'queue');
  if (!configLimiter) {
    const probe = createRateLimiter({ capacity: 1, refillPerSec: 1 });
    use(probe instanceof native.NativeRateLimiter, 'limiter');
  }
  const label = [...uses].map(([impl, parts]) => `${impl} (${parts.join(', ')})`).join(', ');
  return {
    label: label === '' ? fromConfig.slice(2) : `${label}${fromConfig}`,
    ...(memoryQueue ? { createQueue } : {}),
    ...(configLimiter ? {} : { createRateLimiter }),
  };
}

/** A running server: its URL, and `stop()` which drains as SIGTERM does. */
export interface RunningServer {
  readonly url: string;
  readonly config: ResolvedConfig;
  /** Where queued tasks are: `memory`, `journal:<dir>`, `redis://…`, or a plugin backend's name. */
  readonly where: string;
  /** Whether the backend keeps queued tasks for the next start. */
  readonly durable: boolean;
  /**
   * Drains: new work is refused (503), the tasks in flight finish (up to `drainTimeoutMs`),
   * nothing queued is leased any more; then prints the final line ({@link stoppedLine}) and
   * closes the listener. Resolves with the engine's summary; idempotent.
   */
  stop(): Promise<ShutdownSummary>;
}

/**
 * The plugin of a durable backend named by `--backend`, imported only when chosen: the
 * journal needs `node:fs` and Redis needs `ioredis`, neither of which an edge build wants.
 * Nothing when a config file's plugins already provide it.
 */
async function backendPlugin(
  name: string | undefined,
  plugins: readonly unknown[],
): Promise<unknown[]> {
  const provided = (id: string) =>
    plugins.some((p) => (p as { name?: unknown } | null)?.name === id);
  if (name === 'journal' && !provided('switchboard-journal')) {
    return [(await import('@switchboard/plugins/journal')).journalPlugin];
  }
  if (name === 'redis' && !provided('redis-backend')) {
    return [(await import('@switchboard/plugins/redis')).redisBackendPlugin];
  }
  return [];
}

/**
 * Starts Switchboard and its HTTP API on one runtime: resolves the configuration, starts the
 * engine, listens, prints one line with the URL, backend and hot path.
 *
 * @example
 * ```ts
 * const server = await startServer(nodeRuntime, ['--port', '0'], process.env)
 * await fetch(`${server.url}/healthz`)
 * await server.stop()
 * ```
 */
export async function startServer(
  runtime: RuntimeAdapter,
  argv: readonly string[],
  env: Record<string, string | undefined>,
  log: (line: string) => void = console.log,
): Promise<RunningServer> {
  const flags = parseArgs(argv);
  const file = flags.config === undefined ? {} : await loadConfigFile(flags.config);
  const config = resolveConfig(flags, env, file);
  checkExposure(config);
  const backend = backendSpec(config.backend);
  // Plugin packages named in the config file are the user's: installed beside that file (or
  // where the server was started), not necessarily beside the server's own install.
  const pluginFolders = [
    ...(flags.config === undefined ? [] : [dirname(resolvePath(flags.config))]),
    process.cwd(),
  ];
  const plugins = await resolvePlugins(config.plugins ?? [], pluginFolders);
  const durable = await backendPlugin(backend?.name, plugins);
  const own = (config.switchboard ?? {}) as { backend?: unknown; createRateLimiter?: unknown };
  // The memory backend's queues are ours to pick unless the config file names a backend.
  const hot = await hotPath(
    backend === undefined && own.backend === undefined,
    own.createRateLimiter !== undefined,
  );
  const sb = createSwitchboard({
    // One line per background error (a backend outage: the server answers 503 meanwhile and
    // retries); a config file's own `switchboard.onError` replaces it.
    onError: (error: unknown) => console.error(`switchboard: ${backgroundLine(error)}`),
    ...(config.switchboard as object),
    ...(hot.createRateLimiter === undefined ? {} : { createRateLimiter: hot.createRateLimiter }),
    plugins: [builtinPlugin, ...durable, ...plugins] as never,
    ...(backend === undefined ? {} : { backend }),
    ...(hot.createQueue === undefined
      ? {}
      : { backend: { name: 'memory', options: { createQueue: hot.createQueue } } }),
    ...(config.heartbeatTimeoutMs === undefined
      ? {}
      : {
          heartbeatTimeoutMs: config.heartbeatTimeoutMs,
          heartbeatIntervalMs: Math.max(1, Math.floor(config.heartbeatTimeoutMs / 3)),
        }),
    ...(config.agents === undefined ? {} : { agents: config.agents as never }),
  });
  const lifecycle = new Lifecycle('starting');
  const app = createApp(sb, {
    lifecycle,
    tokens: config.tokens,
    ...(config.maxBodyBytes === undefined ? {} : { maxBodyBytes: config.maxBodyBytes }),
    ...(config.rateLimits === undefined ? {} : { rateLimits: config.rateLimits }),
    ...(config.events === undefined ? {} : { events: config.events }),
  });
  // Listen first so that /healthz answers and /readyz says 503 while the engine starts.
  const listening: Listening = await runtime.serve(app.fetch, {
    port: config.port,
    host: config.host,
    hot: app.hot,
  });
  await sb.start();
  lifecycle.ready();
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${host}:${listening.port}`;
  log(
    `switchboard: serving ${url} on ${runtime.name} (backend ${config.backend}, hot path ${hot.label}, auth ${authLabel(config, listening.port)})`,
  );
  // A config file's own backend object has no spec string: its name says where tasks are.
  const where = backend === undefined ? sb.backend.name : config.backend;
  let stopping: Promise<ShutdownSummary> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      lifecycle.drain();
      // The engine stops while HTTP still serves, so remote agents can complete their leases.
      // Only the tasks in flight are waited for: no agent leases a queued task any more.
      const summary = await sb.shutdown({ timeoutMs: config.drainTimeoutMs });
      const timer = setTimeout(() => listening.forceClose(), Math.min(config.drainTimeoutMs, 5000));
      await listening.close();
      clearTimeout(timer);
      log(stoppedLine(summary, where, config.drainTimeoutMs));
      return summary;
    })();
    return stopping;
  };
  return { url, config, where, durable: sb.backend.durable, stop };
}

/**
 * Checks the arguments of `switchboard serve` and the config file they name, starting nothing:
 * what `npm start` runs before installing and building, so that a mistyped flag or a bad
 * config file fails at once rather than after them.
 *
 * @throws SwitchboardError `invalid_config` saying what is wrong, as {@link startServer} would.
 */
export async function checkServeArgs(
  argv: readonly string[],
  env: Record<string, string | undefined>,
): Promise<ResolvedConfig> {
  const flags = parseArgs(argv);
  const file = flags.config === undefined ? {} : await loadConfigFile(flags.config);
  const config = resolveConfig(flags, env, file);
  checkExposure(config);
  backendSpec(config.backend);
  return config;
}

/**
 * `switchboard serve`: starts the server and drains on SIGTERM or SIGINT (a second signal
 * exits at once), or when `options.parentPid` is no longer its parent. Exits 2 on a
 * configuration error, with its message.
 */
export async function main(
  runtime: RuntimeAdapter,
  argv = process.argv.slice(2),
  options: StopOptions = {},
): Promise<void> {
  // Any first word but `serve` is an operator command (or a misspelt one, which the
  // command parser names with the known ones); flags alone still start the server.
  const first = argv[0];
  if (first !== undefined && first !== 'serve' && !first.startsWith('-')) {
    const { runOps } = await import('./ops/program.js');
    process.exitCode = await runOps(argv);
    return;
  }
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    return;
  }
  let server: RunningServer;
  try {
    server = await startServer(runtime, argv, process.env);
  } catch (err) {
    console.error(`switchboard: ${(err as Error).message}`);
    process.exit(err instanceof SwitchboardError && err.code === 'invalid_config' ? 2 : 1);
  }
  stopOnSignals(server, options);
}

/** A background error as one log line: its code and message. */
function backgroundLine(error: unknown): string {
  if (!(error instanceof Error)) return `background error: ${String(error)}`;
  const code = (error as { code?: unknown }).code;
  return `background error${typeof code === 'string' ? ` (${code})` : ''}: ${error.message}`;
}
