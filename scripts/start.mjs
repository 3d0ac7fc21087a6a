// `npm start [-- --port 9000 ...]`: serves the HTTP API (127.0.0.1:8787, in-memory backend unless
// told otherwise), installing and building first only when something changed since the last
// time. Arguments go to `switchboard serve`.
//
// In order: the arguments and the config file are checked by the current build (before
// anything slow, so a mistyped flag fails at once; a fresh clone has no build yet, so there
// they are checked once it is built); the install runs when the lockfile or a package.json
// changed since the last one; the build runs when a source, the dashboard, a tsconfig or a
// build script changed since the last one (scripts/stamps.mjs says how that is decided). The
// install covers the root and packages/* only: the tests' own dependencies (Bun, Deno and the
// like) are for `npm test`. SWITCHBOARD_START_SKIP_BUILD=1 serves the current build as it is.
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
import { PNPM } from './pnpm.mjs';
import {
  buildFingerprint,
  buildOutputsExist,
  installFingerprint,
  readStamp,
  START_INSTALL_FILTER,
  writeStamp,
} from './stamps.mjs';

const root = new URL('..', import.meta.url).pathname;
// Read before the slow steps: a parent that is gone by the time the server listens is noticed.
const parentPid = process.ppid;
const args = process.argv.slice(2);
const dist = (file) => pathToFileURL(join(root, 'packages/server/dist', file)).href;

// As in the server's bin (packages/server/src/bin/node.ts): CBOR request bodies are decoded
// by the pure-JS decoder, which must be chosen before cbor-x loads.
process.env.CBOR_NATIVE_ACCELERATION_DISABLED ??= 'true';

function step(title, cmd, cmdArgs) {
  console.log(`== ${title}`);
  const r = spawnSync(cmd, cmdArgs, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`npm start: ${title.split(' ')[0]} failed (exit ${r.status})`);
    process.exit(r.status ?? 1);
  }
}

/** Whether `args` start the server (flags, or `serve`) rather than an operator command or help. */
function servesWith(argv) {
  if (argv.includes('--help') || argv.includes('-h')) return false;
  return argv[0] === undefined || argv[0] === 'serve' || argv[0].startsWith('-');
}

/**
 * Checks `args` with the build in dist/. In this process when that build is current (the
 * server then starts from the modules already loaded); in a child process when it is about
 * to be rebuilt, since this process could not load the new modules over the old ones. A
 * build older than this check (without `checkServeArgs`) is not asked. Returns the error message, or undefined when the arguments are good.
 */
async function checkArgs(current) {
  if (current) {
    const { checkServeArgs, USAGE } = await import(dist('cli.js'));
    if (checkServeArgs === undefined) return undefined;
    try {
      await checkServeArgs(args, process.env);
      return undefined;
    } catch (err) {
      return `${err.message}\n${USAGE.split('\n')[0]}`;
    }
  }
  const r = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const { checkServeArgs, USAGE } = await import(${JSON.stringify(dist('cli.js'))});
       if (checkServeArgs === undefined) process.exit(0);
       try { await checkServeArgs(JSON.parse(process.argv[1]), process.env) }
       catch (err) { console.error(err.message + '\\n' + USAGE.split('\\n')[0]); process.exit(2) }`,
      JSON.stringify(args),
    ],
    { cwd: root, encoding: 'utf8' },
  );
  return r.status === 0 ? undefined : r.stderr.trim();
}

if (process.env.SWITCHBOARD_START_SKIP_BUILD === '1') {
  console.log('== install and build skipped (SWITCHBOARD_START_SKIP_BUILD=1)');
} else {
  const installed =
    existsSync(join(root, 'node_modules/.modules.yaml')) &&
    readStamp('install') === installFingerprint();
  const built = buildOutputsExist() && readStamp('build') === buildFingerprint();

  if (!servesWith(args)) {
    // Help and operator commands are the server CLI's to answer once it is built.
  } else if (buildOutputsExist()) {
    const error = await checkArgs(installed && built);
    if (error !== undefined && installed && built) {
      console.error(`npm start: ${error}`);
      process.exit(2);
    }
    // A build about to be replaced may not know a flag its sources have since learnt: its
    // verdict stands only when it is good, and the new build checks again.
    if (error !== undefined) console.log('== arguments: checked again once the build is current');
  } else {
    console.log('== arguments: checked once the first build is done');
  }

  if (installed) {
    console.log('== install skipped (lockfile and package.json files unchanged)');
  } else {
    const why = existsSync(join(root, 'node_modules'))
      ? 'the lockfile or a package.json changed'
      : 'first start: node_modules is missing';
    step(`install (${why})`, 'npx', [
      '--yes',
      PNPM,
      'install',
      ...START_INSTALL_FILTER,
      existsSync(join(root, 'pnpm-lock.yaml')) ? '--frozen-lockfile' : '--no-frozen-lockfile',
    ]);
    // Taken after the install, which may write the lockfile itself (on a clone without one).
    writeStamp('install', installFingerprint());
  }
  if (built) {
    console.log('== build skipped (sources and build config unchanged)');
  } else {
    // scripts/build.mjs records its own stamp, so `npm run build` and `npm test` count too.
    step(
      `build (${buildOutputsExist() ? 'sources changed since the last build' : 'no build yet'})`,
      process.execPath,
      ['scripts/build.mjs'],
    );
  }
}

const { main } = await import(dist('cli.js'));
const { nodeRuntime } = await import(dist('node.js'));
await main(nodeRuntime, args, { parentPid });
