/**
 * Serves a Worker of examples/edge-worker on workerd, the Cloudflare Workers runtime (from
 * npm, through miniflare), on 127.0.0.1. The Worker is bundled with esbuild as `wrangler
 * deploy` bundles it: the browser platform, the `workerd` and `worker` export conditions, and
 * the workspace packages as built (their dist/, as a project that installs them gets them).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { build } from 'esbuild';
import { Miniflare } from 'miniflare';
import { root } from '../shutdown/serve-process.js';

/** A Worker served on workerd. */
export interface ServedWorker {
  /** Its URL, ending in `/`. */
  readonly url: string;
  /** What the bundle still imports: nothing, for a Worker that needs no Node built-in. */
  readonly imports: readonly string[];
  /** Stops workerd and removes the bundle. */
  stop(): Promise<void>;
}

/**
 * The Worker's bindings: Durable Object classes by binding name (a class name, or one with
 * `useSQLite` for an object on SQLite storage, as `new_sqlite_classes` deploys it), and plain
 * text values; and where the objects' storage is kept, to outlive this workerd (by default
 * it is in memory).
 */
export interface WorkerBindings {
  durableObjects?: Record<string, string | { className: string; useSQLite?: boolean }>;
  bindings?: Record<string, string>;
  durableObjectsPersist?: string;
}

/**
 * Bundles `examples/edge-worker/<file>` (or `file` itself, when it is an absolute path) and
 * serves it with the given bindings.
 */
export async function serveOnWorkerd(
  file: string,
  options: WorkerBindings = {},
): Promise<ServedWorker> {
  const dir = mkdtempSync(join(tmpdir(), 'sb-edge-'));
  const result = await build({
    entryPoints: [isAbsolute(file) ? file : join(root, 'examples/edge-worker', file)],
    outfile: join(dir, 'worker.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    conditions: ['workerd', 'worker', 'browser'],
    target: 'es2022',
    metafile: true,
    logLevel: 'silent',
  });
  const imports = Object.values(result.metafile.outputs).flatMap((o) =>
    o.imports.map((i) => i.path),
  );
  const mf = new Miniflare({
    modules: true,
    scriptPath: join(dir, 'worker.js'),
    // Module paths are taken relative to this: the default, the working directory, would
    // reach the bundle through "..", which workerd refuses.
    modulesRoot: dir,
    compatibilityDate: '2026-04-01',
    host: '127.0.0.1',
    port: 0,
    ...options,
  });
  const url = (await mf.ready).href;
  return {
    url,
    imports,
    async stop() {
      await mf.dispose();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
