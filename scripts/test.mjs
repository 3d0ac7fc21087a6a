// `npm test`: installs what it needs, builds, lints, type-checks and runs every test.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pnpm } from './pnpm.mjs';
import { installFingerprint, writeStamp } from './stamps.mjs';

const root = new URL('..', import.meta.url).pathname;
const bin = (name) => join(root, 'node_modules/.bin', name);

function step(title, cmd, args, cwd = root) {
  console.log(`\n== ${title}`);
  const r = spawnSync(cmd, args, { cwd, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`\nnpm test: "${title}" failed (exit ${r.status})`);
    process.exit(r.status ?? 1);
  }
}

console.log('== install');
pnpm(
  [
    'install',
    existsSync(join(root, 'pnpm-lock.yaml')) ? '--frozen-lockfile' : '--no-frozen-lockfile',
  ],
  { cwd: root },
);
// A full install holds all that `npm start`'s installs: that start need not install again.
writeStamp('install', installFingerprint());

step('build', 'node', ['scripts/build.mjs']);
step('lint and format (biome)', bin('biome'), ['check', '.']);
step('type-check tests and benches', bin('tsc'), ['-p', 'tsconfig.test.json']);

const crate = join(root, 'packages/native/Cargo.toml');
if (existsSync(crate)) {
  if (spawnSync('cargo', ['--version'], { stdio: 'ignore' }).status === 0) {
    step(
      'native: cargo test',
      'cargo',
      ['test', '--release', '--quiet'],
      join(root, 'packages/native'),
    );
  } else {
    console.log(
      '\n== native: cargo not found, Rust tests skipped; the suites run on the TypeScript fallback',
    );
  }
}

const report = join(root, 'coverage/vitest-report.json');
step('tests with coverage (vitest)', bin('vitest'), [
  'run',
  '--coverage',
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${report}`,
]);

// A plain closing line that any CI reader understands.
const r = JSON.parse(readFileSync(report, 'utf8'));
console.log(
  `\n${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`,
);
