// `npm start [-- --port 9000 ...]`: installs what it needs, builds, then serves the HTTP API
// (127.0.0.1:8787, in-memory backend unless told otherwise). Arguments go to `switchboard serve`.
// SWITCHBOARD_START_SKIP_BUILD=1 serves the current build as it is, without install or build.
//
// The server runs in this process, not in a child of it: npm runs this script under `sh -c`,
// and a supervisor's SIGTERM to npm ends that shell without reaching its child, so a server
// one process further down would serve on as an orphan. This process is the shell's child;
// it drains and exits on SIGTERM or SIGINT, and also once the shell is gone (its parent pid
// changes), so that SIGTERM to npm ends every process of the tree. To run the server under
// a supervisor, start `switchboard serve` itself (see docs/operations.md).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = new URL('..', import.meta.url).pathname;
// Read before the slow steps: a parent that is gone by the time the server listens is noticed.
const parentPid = process.ppid;

function step(title, args) {
  console.log(`== ${title}`);
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`npm start: ${title} failed (exit ${r.status})`);
    process.exit(r.status ?? 1);
  }
}

if (process.env.SWITCHBOARD_START_SKIP_BUILD === '1') {
  console.log('== install and build skipped (SWITCHBOARD_START_SKIP_BUILD=1)');
} else {
  step('install', [
    'scripts/pnpm.mjs',
    'install',
    existsSync(join(root, 'pnpm-lock.yaml')) ? '--frozen-lockfile' : '--no-frozen-lockfile',
  ]);
  step('build', ['scripts/build.mjs']);
}

// As in the server's bin (packages/server/src/bin/node.ts): CBOR request bodies are decoded
// by the pure-JS decoder, which must be chosen before cbor-x loads.
process.env.CBOR_NATIVE_ACCELERATION_DISABLED ??= 'true';
const dist = (file) => pathToFileURL(join(root, 'packages/server/dist', file)).href;
const { main } = await import(dist('cli.js'));
const { nodeRuntime } = await import(dist('node.js'));
await main(nodeRuntime, process.argv.slice(2), { parentPid });
