// `npm start [-- --port 9000 ...]`: installs what it needs, builds, then serves the HTTP API
// (127.0.0.1:8787, in-memory backend unless told otherwise). Arguments go to `switchboard serve`.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

function step(title, args) {
  console.log(`== ${title}`);
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`npm start: ${title} failed (exit ${r.status})`);
    process.exit(r.status ?? 1);
  }
}

step('install', [
  'scripts/pnpm.mjs',
  'install',
  existsSync(join(root, 'pnpm-lock.yaml')) ? '--frozen-lockfile' : '--no-frozen-lockfile',
]);
step('build', ['scripts/build.mjs']);

const server = spawn(
  process.execPath,
  [join(root, 'packages/server/dist/bin/node.js'), 'serve', ...process.argv.slice(2)],
  {
    cwd: root,
    stdio: 'inherit',
  },
);
// The server drains on SIGTERM/SIGINT; forward them and leave with its exit code.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.kill(signal));
server.on('exit', (code, signal) => process.exit(code ?? (signal === null ? 0 : 1)));
