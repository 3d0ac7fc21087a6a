// What `npm start` needs to know to skip its slow steps: whether node_modules was installed from
// the current lockfile and package.json files, and whether the packages' dist/ was built from
// the current sources. Each step leaves a stamp in node_modules/.cache/switchboard/ holding a
// fingerprint of its inputs; a step whose stamp matches the fingerprint of today's inputs has
// nothing to do.
//
// A fingerprint hashes each input file's path, size and modification time, not its contents:
// reading a few hundred file stats takes milliseconds, and a file edited, touched, added,
// removed or swapped in by a git checkout changes it, as `make` would see. The stamps live in
// node_modules so that removing node_modules forgets them, and a build whose outputs are gone
// (dist/ removed) counts as not built, whatever its stamp says.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const stampDir = join(root, 'node_modules/.cache/switchboard');

/** The packages that `scripts/build.mjs` builds, and that `npm start`'s install installs. */
export const PACKAGES = ['core', 'native', 'plugins', 'client', 'server', 'testing'];

/**
 * The pnpm filter of `npm start`'s install: the root (the build's tools) and packages/*. The
 * tests, benches and examples (with Bun, Deno, Chromium's driver, BullMQ) are `npm test`'s.
 */
export const START_INSTALL_FILTER = ['--filter', 'switchboard', '--filter', './packages/**'];

// Folders that hold outputs or other installs, never build inputs.
const SKIP = new Set(['node_modules', 'dist', 'target', 'out', 'coverage']);
// Written by the build itself (scripts/build-ui.mjs, the addon's build, tsc -b), so not
// inputs of it.
const GENERATED = new Set(['packages/server/src/routes/ui-assets.generated.ts']);
const OUTPUT = /\.(node|tsbuildinfo)$/;

function files(dir, into) {
  if (!existsSync(dir)) return into;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIP.has(entry.name)) files(path, into);
    } else if (!GENERATED.has(relative(root, path)) && !OUTPUT.test(entry.name)) {
      into.push(path);
    }
  }
  return into;
}

function fingerprint(paths) {
  const hash = createHash('sha256');
  for (const path of [...new Set(paths)].sort()) {
    const st = existsSync(path) ? statSync(path) : undefined;
    hash.update(`${relative(root, path)}\0${st?.size ?? '-'}\0${st?.mtimeMs ?? '-'}\n`);
  }
  return hash.digest('hex');
}

/** The install's inputs: the lockfile, the workspace file and every package.json it installs. */
export function installFingerprint() {
  return fingerprint([
    join(root, 'pnpm-lock.yaml'),
    join(root, 'pnpm-workspace.yaml'),
    join(root, 'package.json'),
    ...PACKAGES.map((name) => join(root, 'packages', name, 'package.json')),
  ]);
}

/**
 * The build's inputs: every file of the packages but their outputs and installs (sources,
 * the dashboard, package.json, tsconfig, the Rust crate), the root tsconfig files, the build
 * scripts, and the lockfile (the type-check reads the installed dependencies' types).
 */
export function buildFingerprint() {
  const inputs = [
    join(root, 'tsconfig.json'),
    join(root, 'tsconfig.base.json'),
    join(root, 'pnpm-lock.yaml'),
    ...files(join(root, 'scripts'), []).filter((p) => /build.*\.mjs$|stamps\.mjs$/.test(p)),
  ];
  for (const name of PACKAGES) {
    const dir = join(root, 'packages', name);
    for (const entry of existsSync(dir) ? readdirSync(dir, { withFileTypes: true }) : []) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!SKIP.has(entry.name) && entry.name !== 'test') files(path, inputs);
      } else if (!OUTPUT.test(entry.name)) {
        inputs.push(path);
      }
    }
  }
  return fingerprint(inputs);
}

/** Whether every package has its dist/ and the server its CLI, as `npm start` runs them. */
export function buildOutputsExist() {
  return (
    PACKAGES.every((name) => existsSync(join(root, 'packages', name, 'dist'))) &&
    existsSync(join(root, 'packages/server/dist/cli.js')) &&
    existsSync(join(root, 'packages/server/dist/node.js'))
  );
}

/** The fingerprint a step recorded when it last succeeded, or undefined. */
export function readStamp(step) {
  try {
    return JSON.parse(readFileSync(join(stampDir, `${step}.json`), 'utf8')).fingerprint;
  } catch {
    // No stamp (a fresh clone, or node_modules removed) or an unreadable one: not done.
    return undefined;
  }
}

/** Records that `step` succeeded from inputs with this fingerprint. */
export function writeStamp(step, fingerprint) {
  mkdirSync(stampDir, { recursive: true });
  writeFileSync(
    join(stampDir, `${step}.json`),
    `${JSON.stringify({ fingerprint, at: new Date().toISOString() })}\n`,
  );
}
