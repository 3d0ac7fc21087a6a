import { ADDON_FUNCTIONS, type NativeAddon } from './addon.js';

/** Which implementation is live. */
export type Backend = 'native' | 'js';

/** The outcome of {@link loadNative}. */
export interface NativeLoad {
  /** `native` when the Rust addon loaded, `js` when the TypeScript fallback is used. */
  backend: Backend;
  /** The addon's functions, when `backend` is `native`. */
  addon?: NativeAddon;
  /** The file the addon was loaded from, when `backend` is `native`. */
  path?: string;
  /** Why the fallback is used, when `backend` is `js`. */
  reason?: string;
  /** Every load attempt's error, in the order tried, when `backend` is `js`. */
  errors?: Error[];
  /** The same errors chained in one `AggregateError`, ready to log or throw. */
  error?: AggregateError;
}

type Require = (id: string) => unknown;
interface NodeLikeProcess {
  env?: Record<string, string | undefined>;
  platform?: string;
  arch?: string;
  getBuiltinModule?: (id: string) => unknown;
  report?: { getReport?: () => unknown };
}

const BINARY = 'switchboard-native';

function nodeProcess(): NodeLikeProcess | undefined {
  return (globalThis as { process?: NodeLikeProcess }).process;
}

/**
 * A `require` that can load `.node` files, found without a static `node:*` import so that
 * this module still loads (and falls back) on edge runtimes that have none.
 */
function nodeRequire(): Require | Error {
  const proc = nodeProcess();
  try {
    const mod = proc?.getBuiltinModule?.('node:module') as
      | { createRequire?: (from: string) => Require }
      | undefined;
    if (typeof mod?.createRequire === 'function') return mod.createRequire(import.meta.url);
  } catch (err) {
    return new Error('process.getBuiltinModule("node:module") failed', { cause: err });
  }
  return new Error('no Node-API loader in this runtime (process.getBuiltinModule is missing)');
}

function isMusl(proc: NodeLikeProcess): boolean {
  try {
    const report = proc.report?.getReport?.() as { header?: { glibcVersionRuntime?: string } };
    return report !== undefined && report.header?.glibcVersionRuntime === undefined;
  } catch {
    // Runtimes without process.report (Deno, Bun): try glibc first, musl second.
    return false;
  }
}

/**
 * The platform suffixes `napi build --platform` gives this machine's binary, most likely
 * first (e.g. `linux-x64-gnu`).
 */
export function platformTriples(proc: NodeLikeProcess | undefined = nodeProcess()): string[] {
  if (proc?.platform === undefined || proc.arch === undefined) return [];
  const base = `${proc.platform}-${proc.arch}`;
  if (proc.platform === 'linux') {
    return isMusl(proc) ? [`${base}-musl`, `${base}-gnu`] : [`${base}-gnu`, `${base}-musl`];
  }
  if (proc.platform === 'win32') return [`${base}-msvc`];
  return [base];
}

/**
 * The places the addon is looked for, in order: the platform-specific file at the package
 * root (what `napi build --platform` writes), then the plain name, then the optional
 * per-platform npm package (`@switchboard/native-<triple>`).
 */
export function candidatePaths(): string[] {
  // This file sits one level below the package root both as src/*.ts and as dist/*.js.
  const root = new URL('../', import.meta.url);
  const file = (name: string) => decodeURIComponent(new URL(name, root).pathname);
  const triples = platformTriples();
  return [
    ...triples.map((t) => file(`${BINARY}.${t}.node`)),
    file(`${BINARY}.node`),
    ...triples.map((t) => `@switchboard/native-${t}`),
  ];
}

function fallback(reason: string, errors: Error[]): NativeLoad {
  const error = new AggregateError(errors, `@switchboard/native: ${reason}`);
  return { backend: 'js', reason, errors, error };
}

function asAddon(loaded: unknown, path: string): NativeAddon {
  const missing = ADDON_FUNCTIONS.filter(
    (name) => typeof (loaded as Record<string, unknown> | null)?.[name] !== 'function',
  );
  if (missing.length > 0) {
    throw new Error(`${path} is not this version of the addon: missing ${missing.join(', ')}`);
  }
  return loaded as NativeAddon;
}

/**
 * Tries each path in order and returns the first addon that loads; on failure, every
 * attempt's error (each with its path in the message and the original as `cause`).
 */
export function loadNativeFrom(
  paths: readonly string[],
  req: Require | Error = nodeRequire(),
): NativeLoad {
  if (req instanceof Error) return fallback(req.message, [req]);
  const errors: Error[] = [];
  for (const path of paths) {
    try {
      return { backend: 'native', addon: asAddon(req(path), path), path };
    } catch (err) {
      errors.push(new Error(`could not load ${path}`, { cause: err }));
    }
  }
  return fallback(`the native addon did not load (${errors.length} places tried)`, errors);
}

let cached: NativeLoad | undefined;

/**
 * Loads the Rust addon once and says which implementation is live. `SWITCHBOARD_NATIVE=0`
 * (read at every call) forces the TypeScript fallback; runtimes without Node-API (edge
 * workers) get it too, with the reason.
 *
 * @example
 * ```ts
 * const { backend, reason, error } = loadNative()
 * if (backend === 'js') console.warn(`switchboard: TypeScript fallback (${reason})`, error)
 * ```
 */
export function loadNative(): NativeLoad {
  const proc = nodeProcess();
  let flag: string | undefined;
  try {
    flag = proc?.env?.SWITCHBOARD_NATIVE;
  } catch {
    // Deno without --allow-env throws on env access: no flag set is the right reading.
    flag = undefined;
  }
  if (flag === '0') return fallback('SWITCHBOARD_NATIVE=0 forces the TypeScript fallback', []);
  cached ??= loadNativeFrom(candidatePaths());
  return cached;
}
