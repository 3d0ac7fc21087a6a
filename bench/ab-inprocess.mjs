// A/B of two builds of @switchboard/core on the in-process throughput workload of
// inprocess.bench.mjs (one capability, mixed priority, a no-op async handler, 4 agents ×
// 256 slots, every task queued before the agents start): best tasks/s and least CPU µs per
// task of `reps` runs, per depth, through `runMany` (one promise a batch) or `submitMany`
// (a handle per task). Run it alternately for each build in one shell session, so that
// both meet the same load on a shared machine.
// Usage: [CORE=path/to/other/core/index.js] node bench/ab-inprocess.mjs [many|handles]
//          [depths, comma-separated] [reps]
// CORE defaults to this workspace's build ('@switchboard/core'; `node scripts/build.mjs`
// first); point it at a copy of another commit's packages/core/dist/index.js kept in the
// same folder (its imports resolve from there).
const { createSwitchboard, defineAgent } = await import(
  process.env.CORE === undefined
    ? '@switchboard/core'
    : new URL(process.env.CORE, `file://${process.cwd()}/`).href
);

const PRIORITIES = ['critical', 'high', 'normal', 'low'];
const noop = async (payload) => payload;
const priorityOf = (i) => PRIORITIES[((i * 2654435761) >>> 0) % 4];
const mode = process.argv[2] ?? 'many';
const depths = (process.argv[3] ?? '10000,100000,1000000').split(',').map(Number);
const reps = Number(process.argv[4] ?? 6);
if (mode !== 'many' && mode !== 'handles')
  throw new Error(`mode must be many or handles, got ${mode}`);

function worker() {
  return defineAgent({
    name: 'worker',
    capabilities: ['work'],
    config: { maxConcurrency: 256 },
    handle: noop,
  });
}

for (const n of depths) {
  const list = Array.from({ length: n }, (_, i) => ({
    capability: 'work',
    payload: i,
    priority: priorityOf(i),
  }));
  let rate = 0;
  let cpu = Number.POSITIVE_INFINITY;
  for (let r = 0; r < reps; r++) {
    const sb = createSwitchboard({ agents: [{ definition: worker(), min: 4 }] });
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    let done = 0;
    if (mode === 'many') {
      const results = sb.runMany(list);
      await sb.start();
      done = (await results).length;
    } else {
      const handles = await sb.submitMany(list);
      await sb.start();
      done = (await Promise.all(handles.map((h) => h.result))).length;
    }
    const ms = performance.now() - t0;
    const used = process.cpuUsage(c0);
    if (done !== n) throw new Error(`${done} results for ${n} tasks`);
    rate = Math.max(rate, (n * 1000) / ms);
    cpu = Math.min(cpu, (used.user + used.system) / n);
    await sb.shutdown();
  }
  console.log(`${mode} ${n} queued: ${Math.round(rate)} tasks/s, ${cpu.toFixed(2)} µs CPU a task`);
}
