// Builds every package: the native addon (when cargo is present), declarations (tsc -b),
// then one ESM bundle per package export (esbuild), dependencies left external.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { build } from 'esbuild';
import { buildUi } from './build-ui.mjs';
import { buildFingerprint, writeStamp } from './stamps.mjs';

const root = new URL('..', import.meta.url).pathname;
const packages = ['core', 'native', 'plugins', 'client', 'server', 'testing'];
// Taken before building, so that a source edited while the build runs is built next time.
const inputs = buildFingerprint();

function run(cmd, args, cwd = root) {
  const r = spawnSync(cmd, args, { cwd, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`build: \`${cmd} ${args.join(' ')}\` failed in ${cwd}`);
    process.exit(r.status ?? 1);
  }
}

export function hasCargo() {
  return spawnSync('cargo', ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * Deletes the JavaScript files (and their maps) of `dist` that this build did not write:
 * esbuild names chunks by content, so every change leaves the old chunks behind, and a
 * packed package would ship them. tsc writes only declarations there, which stay.
 */
function removeStaleBundles(dist, written) {
  for (const entry of readdirSync(dist, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !/\.js(\.map)?$/.test(entry.name)) continue;
    const file = join(entry.parentPath, entry.name);
    if (!written.has(relative(root, file))) rmSync(file);
  }
}

// 1. Native addon. A broken Rust build fails loudly; no toolchain means the TS fallback.
const nativeDir = join(root, 'packages/native');
if (existsSync(join(nativeDir, 'Cargo.toml'))) {
  if (hasCargo()) run('node', ['scripts/build-addon.mjs'], nativeDir);
  else
    console.warn(
      'build: cargo not found, skipping the native addon (the TypeScript fallback is used)',
    );
}

// 2. The dashboard, embedded in a module of the server's sources (so before their type-check).
await buildUi();

// 3. Type declarations and the type-check of every package.
run(join(root, 'node_modules/.bin/tsc'), ['-b']);

// 4. Bundles: each export's "default" ./dist/X.js is built from ./src/X.ts.
for (const name of packages) {
  const dir = join(root, 'packages', name);
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const entryPoints = {};
  for (const target of Object.values(pkg.exports ?? {})) {
    const out = typeof target === 'string' ? target : target.default;
    const m = /^\.\/dist\/(.+)\.js$/.exec(out ?? '');
    if (m) entryPoints[m[1]] = join(dir, 'src', `${m[1]}.ts`);
  }
  for (const [out, input] of Object.entries(pkg.switchboard?.bundles ?? {})) {
    entryPoints[out] = join(dir, input);
  }
  const { metafile } = await build({
    entryPoints,
    outdir: join(dir, 'dist'),
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: pkg.switchboard?.platform ?? 'neutral',
    target: 'es2022',
    packages: 'external',
    sourcemap: true,
    // The metafile's output paths are relative to this folder, which removeStaleBundles expects.
    absWorkingDir: root,
    metafile: true,
    logLevel: 'warning',
  });
  removeStaleBundles(join(dir, 'dist'), new Set(Object.keys(metafile.outputs)));
}
// `npm start` skips the build while the inputs match this stamp (scripts/stamps.mjs).
writeStamp('build', inputs);
console.log('build: ok');
