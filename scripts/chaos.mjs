// `npm run chaos -- --rounds N [scenario files]`: the long chaos suite. The same scenario files
// as the short run inside `npm test` (test/chaos), with N rounds of faults each (CHAOS_ROUNDS),
// run one file at a time so that their timings do not disturb each other.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
let rounds = 20;
const rest = [];
for (let i = 0; i < args.length; i++) {
  const m = /^--rounds(?:=(.*))?$/.exec(args[i]);
  if (m === null) {
    rest.push(args[i]);
    continue;
  }
  const value = m[1] ?? args[++i];
  rounds = Number(value);
  if (!Number.isInteger(rounds) || rounds < 1) {
    console.error(`chaos: --rounds needs a whole number ≥ 1, got ${JSON.stringify(value)}`);
    process.exit(2);
  }
}

// Scenario files named on the command line (`npm run chaos -- --rounds 5 test/chaos/time`) run
// alone; otherwise every file of test/chaos.
const files = rest.some((a) => !a.startsWith('-')) ? [] : ['test/chaos'];
console.log(`chaos: ${rounds} rounds per scenario`);
const r = spawnSync(
  join(root, 'node_modules/.bin/vitest'),
  ['run', '--project', 'integration', '--no-file-parallelism', ...rest, ...files],
  { cwd: root, stdio: 'inherit', env: { ...process.env, CHAOS_ROUNDS: String(rounds) } },
);
process.exit(r.status ?? 1);
