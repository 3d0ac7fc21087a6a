// Instructions executed by the in-process workload of ab-inprocess.mjs, per core build,
// counted by Valgrind's callgrind: a count, unlike a time, does not move with the load other
// engineers put on this shared machine (two runs of one build agree within ~0.5 %), so a
// change of 1–3 % that wall-clock A/B runs cannot resolve here shows. It counts work, not
// time: what costs through memory (the collector copying survivors, cache misses) weighs
// less than on the clock, so a change kept on its count is also checked on the clock.
// Each build runs `ab-inprocess.mjs many <n> <reps>` under `node --single-threaded`
// (compilation and collection on the main thread, as counted) in its own process; the
// startup and the first, unwarmed run are in every count alike, so compare counts, not
// instructions per task.
// Usage: node bench/ab-instructions.mjs [n=100000] [reps=2] [core builds...]
//   A build is a path to a bundled core (see ab-inprocess.mjs); none: this workspace's.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const n = process.argv[2] ?? '100000';
const reps = process.argv[3] ?? '2';
const builds = process.argv.length > 4 ? process.argv.slice(4) : [undefined];
const probe = spawnSync('valgrind', ['--version'], { encoding: 'utf8' });
if (probe.status !== 0) {
  console.error('valgrind is not installed (apt-get install -y valgrind)');
  process.exit(1);
}
const script = fileURLToPath(new URL('./ab-inprocess.mjs', import.meta.url));
for (const core of builds) {
  const run = spawnSync(
    'valgrind',
    [
      '--tool=callgrind',
      '--callgrind-out-file=/dev/null',
      process.execPath,
      '--single-threaded',
      script,
      'many',
      n,
      reps,
    ],
    { encoding: 'utf8', env: core === undefined ? process.env : { ...process.env, CORE: core } },
  );
  const collected = /Collected : (\d+)/.exec(run.stderr ?? '');
  if (run.status !== 0 || collected === null) {
    console.error(run.stderr);
    throw new Error(`the run of ${core ?? 'this workspace'} failed`);
  }
  console.log(
    `${core ?? '@switchboard/core'}: ${Number(collected[1]).toLocaleString('en')} instructions`,
  );
}
