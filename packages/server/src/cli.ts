import { readFile } from 'node:fs/promises';
import { dirname, resolve as resolvePath } from 'node:path';
import process from 'node:process';
import { pathToFileURL } from 'node:url';
import {
  createSwitchboard,
  type PoolMember,
  type PriorityQueue,
  type RateLimiter,
  type ScheduleSpecInput,
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
import {
  coreLogger,
  createServerLogger,
  type LogSink,
  prettyLine,
  type ServerLogger,
} from './log.js';
import { logEvents } from './log-events.js';
import { resolvePlugins } from './plugin-packages.js';
import type { Listening, RuntimeAdapter } from './runtime.js';
import { type StopOptions, stopOnSignals, stoppedLine } from './signals.js';

/** What `switchboard --help` prints; its first line is the usage of `switchboard serve`. */
export const USAGE = `Usage: switchboard serve [--port 8787] [--host 127.0.0.1] [--backend memory|journal:<dir>|redis://host:port] [--config file.json|file.mjs] [--allow-unauthenticated]
                         [--log-level trace|debug|info|warn|error|silent] [--log-format pretty|json]
       switchboard <agents|tasks|task|dead-letters|replay|cancel|stats|tail|submit> [--url URL] [--token TOKEN] [--json]

The second form operates a running server (SWITCHBOARD_URL and SWITCHBOARD_TOKEN stand in for
--url and --token); \`switchboard <command> --help\` describes each command. Exit codes: 0 done,
1 the server refused, 2 usage error, 3 server unreachable (docs/cli.md).

A host other than loopback needs a token (auth on), or --allow-unauthenticated to serve it open.

Logs: one line per event an operator cares about (startup, journal recovery, agents registered,
failed and removed, tasks dead-lettered, the backend lost and back, the drain), at --log-level
(default info) and in --log-format pretty (default: "switchboard: " and a sentence) or json (one
object a line, with level, time, msg and the event's fields); warnings and errors go to stderr.
A server that cannot start says why in one line and exits 2 for a configuration error, 1 for
anything else (a port in use, an unreachable backend).

Environment: PORT, HOST, SWITCHBOARD_BACKEND, SWITCHBOARD_HEARTBEAT_TIMEOUT_MS,
SWITCHBOARD_ADMIN_TOKEN, SWITCHBOARD_CLIENT_TOKEN, SWITCHBOARD_AGENT_TOKEN, SWITCHBOARD_MAX_BODY_BYTES,
SWITCHBOARD_LOG_LEVEL, SWITCHBOARD_LOG_FORMAT.
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
  /** The server's logger (what `--log-level` and `--log-format` set up). */
  readonly log: ServerLogger;
  /**
   * Drains: new work is refused (503), the tasks in flight finish (up to `drainTimeoutMs`),
   * nothing queued is leased any more; then logs the final line ({@link stoppedLine}) and
   * closes the listener. `why` starts the line that says the drain began (`SIGTERM`).
   * Resolves with the engine's summary; idempotent.
   */
  stop(why?: string): Promise<ShutdownSummary>;
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
 * engine, listens, logs one line with the URL, backend, hot path, load balancer, agents,
 * plugins, config file and auth, then a line for each event an operator cares about (see
 * {@link logEvents}). Lines go to `sink` when given (tests), else to stdout and stderr. A
 * failure once the log settings are known is logged there too, as one line, and thrown.
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
  sink?: LogSink,
): Promise<RunningServer> {
  const flags = parseArgs(argv);
  const file = flags.config === undefined ? {} : await loadConfigFile(flags.config);
  const config = resolveConfig(flags, env, file);
  const log = createServerLogger(config.log, sink);
  try {
    return await serve(runtime, config, flags.config, log);
  } catch (err) {
    // The code alone, not the error: a failed start is one line, never a stack trace.
    const code = (err as { code?: unknown } | null)?.code;
    log.fatal({ code: typeof code === 'string' ? code : null }, startupFailure(err, config));
    reported.add(err as object);
    throw err;
  }
}

/** Errors {@link startServer} has logged already: `main` does not print them again. */
const reported = new WeakSet<object>();

/** The one line of a failed start: what went wrong and, where there is one, what to do. */
function startupFailure(err: unknown, config: ResolvedConfig): string {
  const e = err as { code?: unknown; name?: unknown; message?: unknown };
  const message = typeof e.message === 'string' ? e.message : String(err);
  const inUse =
    e.code === 'EADDRINUSE' ||
    e.name === 'AddrInUse' ||
    /EADDRINUSE|address already in use/i.test(message);
  if (inUse) {
    return `port ${config.port} on ${config.host} is already in use: stop what listens there, or choose another port with --port (or PORT)`;
  }
  if (err instanceof SwitchboardError && err.code === 'invalid_config') return message;
  return `cannot start: ${message}`;
}

/** The started server of {@link startServer}, its log settings known. */
async function serve(
  runtime: RuntimeAdapter,
  config: ResolvedConfig,
  configFile: string | undefined,
  log: ServerLogger,
): Promise<RunningServer> {
  checkExposure(config);
  const backend = backendSpec(config.backend);
  // Plugin packages named in the config file are the user's: installed beside that file (or
  // where the server was started), not necessarily beside the server's own install.
  const pluginFolders = [
    ...(configFile === undefined ? [] : [dirname(resolvePath(configFile))]),
    process.cwd(),
  ];
  const plugins = await resolvePlugins(config.plugins ?? [], pluginFolders);
  const durable = await backendPlugin(backend?.name, plugins);
  const own = (config.switchboard ?? {}) as {
    backend?: unknown;
    createRateLimiter?: unknown;
    loadBalancer?: unknown;
  };
  // The memory backend's queues are ours to pick unless the config file names a backend.
  const hot = await hotPath(
    backend === undefined && own.backend === undefined,
    own.createRateLimiter !== undefined,
  );
  const installed = [builtinPlugin, ...durable, ...plugins];
  const sb = createSwitchboard({
    // Background errors and what the backends report (a journal recovered, Redis lost and
    // back) go to the server's log; a config file's own `logger` or `onError` replaces it.
    logger: coreLogger(log),
    ...(config.switchboard as object),
    ...(hot.createRateLimiter === undefined ? {} : { createRateLimiter: hot.createRateLimiter }),
    plugins: installed as never,
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
  // Before the start, so that the agents spawned at start are logged.
  logEvents(sb.events, log);
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
  // Checked with the file; written before the server takes work, so they are listed at once.
  for (const spec of config.schedules ?? []) await sb.schedules.upsert(spec as ScheduleSpecInput);
  lifecycle.ready();
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${host}:${listening.port}`;
  const facts = {
    url,
    runtime: runtime.name,
    backend: config.backend,
    hotPath: hot.label,
    loadBalancer: strategyName(own.loadBalancer) ?? 'round-robin',
    agents: agentCounts(sb.pool.agents()),
    plugins: installed.map((p) => (p as { name?: unknown }).name).filter((n) => n !== undefined),
    config: configFile ?? null,
    auth: authLabel(config, listening.port),
  };
  const agents = Object.entries(facts.agents).map(([name, n]) => `${name}×${n}`);
  log.info(
    facts,
    `serving ${url} on ${runtime.name} (backend ${config.backend}, hot path ${hot.label}, ` +
      `load balancer ${facts.loadBalancer}, agents ${agents.length === 0 ? 'none' : agents.join(' ')}, ` +
      `plugins ${facts.plugins.join(' ')}, config ${configFile ?? 'none'}, auth ${facts.auth})`,
  );
  log.info({ dashboard: `${url}/ui/` }, `dashboard at ${url}/ui/`);
  // A config file's own backend object has no spec string: its name says where tasks are.
  const where = backend === undefined ? sb.backend.name : config.backend;
  let stopping: Promise<ShutdownSummary> | undefined;
  const stop = (why = 'stop requested') => {
    stopping ??= (async () => {
      lifecycle.drain();
      // What the drain starts with; on a shared backend, every process's leases count.
      const at = await sb.backend.stats().catch(() => undefined);
      log.info(
        { reason: why, inFlight: at?.leased ?? null, queued: at?.depth ?? null },
        `${why}, draining${at === undefined ? '' : `: ${at.leased} in flight, ${at.depth} queued`}`,
      );
      // The engine stops while HTTP still serves, so remote agents can complete their leases.
      // Only the tasks in flight are waited for: no agent leases a queued task any more.
      const summary = await sb.shutdown({ timeoutMs: config.drainTimeoutMs });
      const timer = setTimeout(() => listening.forceClose(), Math.min(config.drainTimeoutMs, 5000));
      await listening.close();
      clearTimeout(timer);
      log.info({ ...summary, where }, stoppedLine(summary, where, config.drainTimeoutMs));
      return summary;
    })();
    return stopping;
  };
  return { url, config, where, durable: sb.backend.durable, log, stop };
}

/** The name of a strategy option: a name, `{ name, options }` or an object with a `name`. */
function strategyName(spec: unknown): string | undefined {
  if (typeof spec === 'string') return spec;
  const name = (spec as { name?: unknown } | null | undefined)?.name;
  return typeof name === 'string' ? name : undefined;
}

/** The in-process agents by definition name, with how many of each run. */
function agentCounts(members: readonly PoolMember[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const m of members) if (!m.remote) counts[m.name] = (counts[m.name] ?? 0) + 1;
  return counts;
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
    // An error before the log settings were known (a bad flag, an unreadable config file).
    if (!reported.has(err as object)) console.error(prettyLine(60, (err as Error).message));
    process.exit(err instanceof SwitchboardError && err.code === 'invalid_config' ? 2 : 1);
  }
  stopOnSignals(server, options, server.log);
}
