// The cost of tracing, in process, in one run: tasks/s and CPU µs per task (submit → agent →
// result awaited, 4 agents × 256 slots, a no-op handler, 20k tasks through `runMany`) with
//  - no telemetry: the anchor, what every Switchboard without `telemetry` pays;
//  - `otelTelemetry()` with no SDK registered: the hooks and the API's no-op spans alone;
//  - `otelTelemetry()` on the SDK's BasicTracerProvider with a SimpleSpanProcessor and an
//    exporter that drops each span: what recording four spans a task costs.
// Every task sets `timeoutMs`, so all three go as records (a traced batch is never kept as
// columns): the lines differ by the tracing alone.
// Run `node scripts/build.mjs` first: '@switchboard/core' resolves to its dist bundle.
// Usage: node --expose-gc bench/tracing.bench.mjs
import { pathToFileURL } from 'node:url';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { createSwitchboard, defineAgent } from '@switchboard/core';
import { otelTelemetry } from '@switchboard/plugins/otel';

const TASKS = 20_000;
const AGENTS = 4;
const SLOTS = 256;
const REPS = 5;

/** An exporter that keeps nothing: the SDK's span processing without an export's I/O. */
const dropping = {
  export: (_spans, done) => done({ code: 0 }),
  shutdown: () => Promise.resolve(),
};

const worker = defineAgent({
  name: 'worker',
  capabilities: ['work'],
  config: { maxConcurrency: SLOTS },
  handle: async (payload) => payload,
});

async function once(telemetry) {
  const list = Array.from({ length: TASKS }, (_, i) => ({
    capability: 'work',
    payload: i,
    timeoutMs: 30_000,
  }));
  const sb = createSwitchboard({
    agents: [{ definition: worker, min: AGENTS }],
    ...(telemetry === undefined ? {} : { telemetry }),
  });
  await sb.start();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const out = await sb.runMany(list);
  const ms = performance.now() - t0;
  const used = process.cpuUsage(c0);
  if (out.length !== TASKS) throw new Error('a result is missing');
  await sb.shutdown();
  return { perSec: (TASKS * 1000) / ms, cpuUs: (used.user + used.system) / TASKS };
}

/** Best of REPS, the configurations interleaved so that a slow spell hits them alike. */
export async function run() {
  const provider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(dropping)],
  });
  const configs = [
    ['no telemetry (anchor)', () => undefined],
    ['otelTelemetry(), no SDK', () => otelTelemetry()],
    ['otelTelemetry(), SDK recording', () => otelTelemetry({ tracerProvider: provider })],
  ];
  const best = configs.map(() => ({ perSec: 0, cpuUs: Number.POSITIVE_INFINITY }));
  for (let r = 0; r < REPS; r++) {
    for (let i = 0; i < configs.length; i++) {
      const { perSec, cpuUs } = await once(configs[i][1]());
      best[i].perSec = Math.max(best[i].perSec, perSec);
      best[i].cpuUs = Math.min(best[i].cpuUs, cpuUs);
      globalThis.gc?.();
    }
  }
  return configs.map(([name], i) => ({
    configuration: name,
    'tasks/s': Math.round(best[i].perSec),
    'CPU µs/task': Number(best[i].cpuUs.toFixed(2)),
  }));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) console.table(await run());
