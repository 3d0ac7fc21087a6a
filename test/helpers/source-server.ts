// The server CLI bundled from the sources (not dist/), for tests that run real server
// processes against the code under test (the crash tests, the chaos suite): a scenario then
// always runs what is in the tree, never a stale build.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { exportSource } from './workspace-sources.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

// The workspace packages resolve to their sources, as in vitest.config.ts (the plugins by the
// source file each export is built from); the native package stays a package when asked.
function sources(keepNative: boolean): Plugin {
  return {
    name: 'workspace-sources',
    setup(b) {
      b.onResolve({ filter: /^@switchboard\// }, ({ path }) => {
        const [, pkg, sub] = /^@switchboard\/([^/]+)(?:\/(.+))?$/.exec(path) ?? [];
        if (pkg === undefined) return undefined;
        if (pkg === 'native' && keepNative) return { path, external: true };
        if (sub === undefined) return { path: join(root, `packages/${pkg}/src/index.ts`) };
        if (pkg === 'plugins') return { path: exportSource(path) };
        const file = pkg === 'server' ? `${sub}.ts` : `${sub}/index.ts`;
        return { path: join(root, `packages/${pkg}/src/${file}`) };
      });
    },
  };
}

/** Options of {@link bundleSourceServer}. */
export interface SourceServerOptions {
  /** The directory of the bundle; a new temporary one unless given. */
  dir?: string;
  /**
   * Leave `@switchboard/native` out of the bundle, so that its loader finds the built addon
   * next to its own module, as in production. The bundle's directory must then resolve the
   * package (lie under a folder whose node_modules holds it, such as test/). Otherwise the
   * loader is bundled from the sources, finds no addon beside the bundle, and the server runs
   * on the TypeScript hot path.
   */
  nativeAddon?: boolean;
}

/** Bundles `switchboard` (the Node entry of the server CLI) from the sources; returns its path. */
export async function bundleSourceServer(options: SourceServerOptions = {}): Promise<string> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'sb-source-server-'));
  const outfile = join(dir, 'switchboard.mjs');
  await build({
    entryPoints: [join(root, 'packages/server/src/bin/node.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    logLevel: 'warning',
    plugins: [sources(options.nativeAddon === true)],
    // Without the native package, its loader looks for the addon at run time and falls back.
    external: ['*.node'],
    // Bundled CommonJS dependencies call require(): give the ES module one.
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
  });
  return outfile;
}
