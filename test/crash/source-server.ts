// The server CLI bundled from the sources (not dist/), for tests that run real server
// processes against the code under test: one bundle per test file, in a temporary directory.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

const root = fileURLToPath(new URL('../..', import.meta.url));

// The workspace packages resolve to their sources, as in vitest.config.ts.
const sources: Plugin = {
  name: 'workspace-sources',
  setup(b) {
    b.onResolve({ filter: /^@switchboard\// }, ({ path }) => {
      const [, pkg, sub] = /^@switchboard\/([^/]+)(?:\/(.+))?$/.exec(path) ?? [];
      if (pkg === undefined) return undefined;
      if (sub === undefined) return { path: join(root, `packages/${pkg}/src/index.ts`) };
      const file = pkg === 'server' ? `${sub}.ts` : `${sub}/index.ts`;
      return { path: join(root, `packages/${pkg}/src/${file}`) };
    });
  },
};

/** Bundles `switchboard` (the Node entry of the server CLI) from the sources; returns its path. */
export async function bundleSourceServer(): Promise<string> {
  const outfile = join(mkdtempSync(join(tmpdir(), 'sb-source-server-')), 'switchboard.mjs');
  await build({
    entryPoints: [join(root, 'packages/server/src/bin/node.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    logLevel: 'warning',
    plugins: [sources],
    // The native addon is loaded at run time when it is there; the bundle falls back to TS.
    external: ['*.node'],
    // Bundled CommonJS dependencies call require(): give the ES module one.
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
  });
  return outfile;
}
