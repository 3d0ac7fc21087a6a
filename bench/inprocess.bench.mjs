// In-process Switchboard, end to end, beside p-queue and Moleculer local calls in the same run.
//  1. tasks/s and CPU µs per task (submit → agent → result awaited) with 10k, 100k and 1M
//     tasks queued in mixed priority before the agents start (and 100k submitted while they
//     run), a no-op async handler, 4 agents × 256 slots; once through `submitMany` with
//     a handle and a `result` promise per task, once through `runMany` (one promise for
//     the batch, results in input order); p-queue at concurrency 1024 with
//     its priority option; Moleculer (transporter null) with one `broker.call` per task,
//     Promise.all per 1,024; and the bare-loop floors (`bareFloor`: the records, the
//     priority order, the handler calls and their results, with no engine; once with a
//     record per queued task, once with records made at lease).
//  2. dispatch latency: submit → handler start, single tasks on an idle Switchboard.
//  3. agent start: `sb.addAgent` of an in-process agent, create + start.
//  4. failover: an in-process agent that throws `agent_failed` while holding tasks, and a
//     remote agent that stops heartbeating: time until its tasks start on another agent.
//  5. memory per queued task: heap delta of 100k queued tasks (tiny payloads made before
//     the baseline, so they are not counted), submitted with `submitMany` as a plain batch
//     (kept as columns) and with a per-task option (kept as records), with `--expose-gc`.
// Run `node scripts/build.mjs` first: '@switchboard/core' resolves to its dist bundle.
// Usage: node --expose-gc bench/inprocess.bench.mjs
import { pathToFileURL } from 'node:url';
import { createSwitchboard, defineAgent, SwitchboardError } from '@switchboard/core';
import { ServiceBroker } from 'moleculer';
import PQueue from 'p-queue';

const PRIORITIES = ['critical', 'high', 'normal', 'low'];
const AGENTS = 4;
const SLOTS = 256;
const CONCURRENCY = AGENTS * SLOTS;
const noop = async (payload) => payload;
const priorityOf = (i) => PRIORITIES[((i * 2654435761) >>> 0) % 4];

function inputs(n) {
  const out = new Array(n);
  for (let i = 0; i < n; i++) out[i] = { capability: 'work', payload: i, priority: priorityOf(i) };
  return out;
}

function worker(name = 'worker', handle = noop, maxConcurrency = SLOTS) {
  return defineAgent({ name, capabilities: ['work'], config: { maxConcurrency }, handle });
}

function quantile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** Best of `reps` runs of `fn` (returns tasks/s): noise on a shared machine only slows runs. */
async function best(reps, fn) {
  let top = 0;
  for (let r = 0; r < reps; r++) top = Math.max(top, await fn());
  return top;
}

/**
 * Switchboard: `n` tasks queued first, then the agents start; every result is awaited.
 * Returns tasks/s, and the process CPU time per task in µs (GC threads included) in
 * `cpuUs`: on a shared machine the CPU time varies less than the wall time.
 */
async function switchboardQueued(list, cpu) {
  const sb = createSwitchboard({ agents: [{ definition: worker(), min: AGENTS }] });
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const handles = await sb.submitMany(list);
  await sb.start();
  await Promise.all(handles.map((h) => h.result));
  const ms = performance.now() - t0;
  const used = process.cpuUsage(c0);
  cpu.us = Math.min(cpu.us, (used.user + used.system) / list.length);
  await sb.shutdown();
  return (list.length * 1000) / ms;
}

/** The same through `runMany`: one promise for the batch instead of a handle per task. */
async function switchboardQueuedMany(list, cpu) {
  const sb = createSwitchboard({ agents: [{ definition: worker(), min: AGENTS }] });
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const results = sb.runMany(list);
  await sb.start();
  const out = await results;
  const ms = performance.now() - t0;
  const used = process.cpuUsage(c0);
  cpu.us = Math.min(cpu.us, (used.user + used.system) / list.length);
  if (out.length !== list.length) throw new Error('runMany: a result is missing');
  await sb.shutdown();
  return (list.length * 1000) / ms;
}

/** Switchboard with the agents running while tasks arrive in batches of 10k. */
async function switchboardStreaming(list) {
  const sb = createSwitchboard({ agents: [{ definition: worker(), min: AGENTS }] });
  await sb.start();
  const t0 = performance.now();
  const results = [];
  for (let i = 0; i < list.length; i += 10_000) {
    const handles = await sb.submitMany(list.slice(i, i + 10_000));
    for (const h of handles) results.push(h.result);
  }
  await Promise.all(results);
  const ms = performance.now() - t0;
  await sb.shutdown();
  return (list.length * 1000) / ms;
}

const FLOOR_PREFIX = '0k3j9x1a8bq0z2m5r7t1c4e-';

/** A task record as the floors make it: Switchboard's fields, its id made the same way. */
function floorRecord({ capability, payload, priority }, seq, now) {
  return {
    id: `${FLOOR_PREFIX}${seq.toString(36)}`.toLowerCase(),
    capability,
    payload,
    priority,
    status: 'queued',
    attempts: 0,
    maxAttempts: 3,
    timeoutMs: 30_000,
    availableAt: now,
    createdAt: now,
    updatedAt: now,
  };
}

/**
 * The floor of this workload in this runtime, with no engine: what any in-process queue of
 * these tasks has to do at the least. Per task a plain record (`floorRecord`), kept in an
 * array per priority; then, per batch of CONCURRENCY in priority order, the lease fields
 * written, the handler called, and its result written back in a `then`. No index by id, no
 * timeouts, no retries, no metrics: rates against it show the engine's own cost. With
 * `columns`, a queued task is only its input's index in its priority's array, and its record
 * is made when it is leased: the floor of a design that keeps no object per queued task.
 */
async function bareFloor(list, columns = false) {
  const t0 = performance.now();
  const now = Date.now();
  const lanes = PRIORITIES.map(() => []);
  for (let i = 0; i < list.length; i++) {
    const queued = columns ? i : floorRecord(list[i], i, now);
    lanes[PRIORITIES.indexOf(list[i].priority)].push(queued);
  }
  const results = [];
  for (const lane of lanes) {
    for (let i = 0; i < lane.length; i += CONCURRENCY) {
      const at = Date.now();
      const batch = lane.slice(i, i + CONCURRENCY).map((queued) => {
        const record = columns ? floorRecord(list[queued], queued, now) : queued;
        record.status = 'leased';
        record.attempts++;
        record.leaseExpiresAt = at + record.timeoutMs;
        record.updatedAt = at;
        return noop(record.payload).then((result) => {
          record.status = 'completed';
          record.result = result;
          results.push(result);
        });
      });
      await Promise.all(batch);
    }
  }
  if (results.length !== list.length) throw new Error('floor: a result is missing');
  return (list.length * 1000) / (performance.now() - t0);
}

/** p-queue: the same tasks added paused (so they queue by priority), then started. */
async function pQueue(list) {
  const queue = new PQueue({ concurrency: CONCURRENCY, autoStart: false });
  const t0 = performance.now();
  const results = new Array(list.length);
  for (let i = 0; i < list.length; i++) {
    const { payload, priority } = list[i];
    results[i] = queue.add(() => noop(payload), { priority: 3 - PRIORITIES.indexOf(priority) });
  }
  queue.start();
  await Promise.all(results);
  return (list.length * 1000) / (performance.now() - t0);
}

/** Moleculer local calls: one `broker.call` per task, awaited per batch of CONCURRENCY. */
async function moleculer(list) {
  const broker = new ServiceBroker({
    transporter: null,
    logger: false,
    metrics: false,
    tracing: false,
  });
  broker.createService({ name: 'work', actions: { run: (ctx) => noop(ctx.params) } });
  await broker.start();
  const t0 = performance.now();
  for (let i = 0; i < list.length; i += CONCURRENCY) {
    const batch = [];
    for (let k = i; k < Math.min(list.length, i + CONCURRENCY); k++) {
      batch.push(broker.call('work.run', list[k]));
    }
    await Promise.all(batch);
  }
  const rate = (list.length * 1000) / (performance.now() - t0);
  await broker.stop();
  return rate;
}

async function throughput() {
  const rows = [];
  // p-queue inserts by priority into a sorted array (O(n) each): 1M would take minutes.
  const plan = [
    { depth: 10_000, reps: 5, anchors: true },
    { depth: 100_000, reps: 5, anchors: true },
    { depth: 1_000_000, reps: 3, anchors: false },
  ];
  // One untimed round of every contender first, so that no figure (the first depth's above
  // all) includes the compiler warming up to its code.
  const warm = inputs(20_000);
  const ignored = { us: 0 };
  await switchboardQueued(warm, ignored);
  await switchboardQueuedMany(warm, ignored);
  await pQueue(warm);
  await moleculer(warm);
  await bareFloor(warm);
  await bareFloor(warm, true);
  for (const { depth, reps, anchors } of plan) {
    const list = inputs(depth);
    const cpu = { us: Number.POSITIVE_INFINITY };
    const sb = await best(reps, () => switchboardQueued(list, cpu));
    const manyCpu = { us: Number.POSITIVE_INFINITY };
    const many = await best(reps, () => switchboardQueuedMany(list, manyCpu));
    const streaming = depth === 100_000 ? await best(reps, () => switchboardStreaming(list)) : NaN;
    const pq = anchors ? await best(reps, () => pQueue(list)) : NaN;
    const floor = await best(reps, () => bareFloor(list));
    const columnsFloor = await best(reps, () => bareFloor(list, true));
    const mol = await best(reps, () => moleculer(list));
    rows.push({
      depth,
      switchboard: sb,
      cpuUs: cpu.us,
      many,
      manyCpuUs: manyCpu.us,
      streaming,
      pQueue: pq,
      moleculer: mol,
      floor,
      columnsFloor,
    });
  }
  return rows;
}

async function dispatchLatency(samples = 3_000) {
  let started = 0n;
  const sb = createSwitchboard({
    agents: [
      worker('latency', () => {
        started = process.hrtime.bigint();
        return 1;
      }),
    ],
  });
  await sb.start();
  const out = new Float64Array(samples);
  for (let i = -200; i < samples; i++) {
    const t0 = process.hrtime.bigint();
    const handle = await sb.submit({ capability: 'work', payload: i, priority: priorityOf(i) });
    await handle.result;
    if (i >= 0) out[i] = Number(started - t0) / 1000;
  }
  await sb.shutdown();
  out.sort();
  return { p50: quantile(out, 0.5), p99: quantile(out, 0.99), samples };
}

async function agentStart(samples = 300) {
  const sb = createSwitchboard();
  await sb.start();
  const out = new Float64Array(samples);
  for (let i = -20; i < samples; i++) {
    const definition = worker(`agent-${i}`);
    const t0 = process.hrtime.bigint();
    await sb.addAgent(definition);
    if (i >= 0) out[i] = Number(process.hrtime.bigint() - t0) / 1e6;
  }
  await sb.shutdown({ drain: false });
  out.sort();
  return { p50: quantile(out, 0.5), p99: quantile(out, 0.99), samples };
}

/** Times, in ms, from `from()` to the start of each of `n` tasks on the healthy agent. */
function startsOnHealthy(n) {
  const starts = [];
  let done;
  const all = new Promise((resolve) => {
    done = resolve;
  });
  const handle = () => {
    starts.push(performance.now());
    if (starts.length === n) done();
    return 1;
  };
  return { handle, all, starts };
}

async function failoverInProcess(held = 100) {
  let release;
  const gate = new Promise((resolve) => {
    release = resolve;
  });
  const flaky = defineAgent({
    name: 'flaky',
    capabilities: ['work'],
    config: { maxConcurrency: held },
    handle: async () => {
      await gate;
      throw new SwitchboardError('agent_failed', 'the agent lost its browser');
    },
  });
  const healthy = startsOnHealthy(held);
  const sb = createSwitchboard({ agents: [flaky], recovery: 'restart' });
  let failedAt = 0;
  sb.events.subscribe('agent.failed', () => {
    failedAt = performance.now();
  });
  await sb.start();
  const handles = await sb.submitMany(inputs(held));
  while ((await sb.stats()).agents.busy === 0) await new Promise((r) => setImmediate(r));
  await sb.addAgent(worker('healthy', healthy.handle, held));
  const crashAt = performance.now();
  release();
  await healthy.all;
  await Promise.all(handles.map((h) => h.result));
  await sb.shutdown({ drain: false });
  const last = Math.max(...healthy.starts);
  return { fromEvent: last - failedAt, fromCrash: last - crashAt, tasks: held };
}

async function failoverRemote(held = 100, heartbeatTimeoutMs = 50) {
  const healthy = startsOnHealthy(held);
  const sb = createSwitchboard({
    heartbeatIntervalMs: 10,
    heartbeatTimeoutMs,
    healthSweepIntervalMs: 5,
  });
  let failedAt = 0;
  sb.events.subscribe('agent.failed', () => {
    failedAt = performance.now();
  });
  await sb.start();
  const remote = sb.registerRemote({
    name: 'remote',
    capabilities: ['work'],
    maxConcurrency: held,
  });
  const handles = await sb.submitMany(inputs(held));
  const leases = await sb.lease(remote.id, { max: held });
  // The remote goes silent now: its last heartbeat was the lease poll.
  const silentAt = performance.now();
  await sb.addAgent(worker('healthy', healthy.handle, held));
  await healthy.all;
  await Promise.all(handles.map((h) => h.result));
  await sb.shutdown({ drain: false });
  const last = Math.max(...healthy.starts);
  return {
    leased: leases.length,
    detectionMs: failedAt - silentAt,
    heartbeatTimeoutMs,
    fromEvent: last - failedAt,
    afterTimeout: last - (silentAt + heartbeatTimeoutMs),
  };
}

function heapUsed() {
  globalThis.gc();
  globalThis.gc();
  return process.memoryUsage().heapUsed;
}

async function memoryPerTask(n = 100_000) {
  if (typeof globalThis.gc !== 'function') return undefined;
  const list = inputs(n).map((input, i) => ({ ...input, payload: { n: i } }));
  const sb = createSwitchboard({ agents: [worker()] });
  await sb.submit({ capability: 'warm-up' });
  const before = heapUsed();
  let handles = await sb.submitMany(list);
  const withHandles = heapUsed();
  handles.length = 0;
  handles = undefined;
  const queued = heapUsed();
  await sb.shutdown({ drain: false });
  // The same tasks with a per-task option, which sends them as records (not columns).
  const optioned = list.map((input) => ({ ...input, maxAttempts: 3 }));
  const other = createSwitchboard({ agents: [worker()] });
  await other.submit({ capability: 'warm-up' });
  const start = heapUsed();
  let recordHandles = await other.submitMany(optioned);
  recordHandles.length = 0;
  recordHandles = undefined;
  const records = heapUsed();
  await other.shutdown({ drain: false });
  return {
    engine: (queued - before) / n,
    withHandles: (withHandles - before) / n,
    records: (records - start) / n,
    tasks: n,
  };
}

/** Every figure, as rows of { section, metric, value, unit, bar, met }. */
export async function run() {
  const rows = [];
  const add = (section, metric, value, unit, bar, met) =>
    rows.push({ section, metric, value, unit, bar, met });
  for (const r of await throughput()) {
    const d = r.depth.toLocaleString('en-US');
    add(
      'throughput',
      `switchboard, ${d} queued`,
      r.switchboard,
      'tasks/s',
      '≥ 1,000,000',
      r.switchboard >= 1e6,
    );
    add(
      'throughput',
      `switchboard CPU per task, ${d} queued (best run)`,
      r.cpuUs,
      'µs',
      '',
      undefined,
    );
    add(
      'throughput',
      `switchboard runMany (one promise a batch), ${d} queued`,
      r.many,
      'tasks/s',
      '≥ 1,000,000',
      r.many >= 1e6,
    );
    add(
      'throughput',
      `switchboard runMany CPU per task, ${d} queued (best run)`,
      r.manyCpuUs,
      'µs',
      '',
      undefined,
    );
    if (!Number.isNaN(r.streaming)) {
      add(
        'throughput',
        `switchboard, ${d} streamed in while running`,
        r.streaming,
        'tasks/s',
        '',
        undefined,
      );
    }
    if (!Number.isNaN(r.pQueue))
      add('throughput', `p-queue, ${d} queued`, r.pQueue, 'tasks/s', '', undefined);
    add('throughput', `moleculer local calls, ${d}`, r.moleculer, 'tasks/s', '', undefined);
    if (!Number.isNaN(r.pQueue))
      add('ratio', `switchboard / p-queue, ${d}`, r.switchboard / r.pQueue, '×', '', undefined);
    add('ratio', `switchboard / moleculer, ${d}`, r.switchboard / r.moleculer, '×', '', undefined);
    add('ratio', `runMany / moleculer, ${d}`, r.many / r.moleculer, '×', '', undefined);
    add('throughput', `bare-loop floor (no engine), ${d}`, r.floor, 'tasks/s', '', undefined);
    add('ratio', `runMany / bare-loop floor, ${d}`, r.many / r.floor, '×', '', undefined);
    add(
      'throughput',
      `bare-loop floor, records made at lease (none while queued), ${d}`,
      r.columnsFloor,
      'tasks/s',
      '',
      undefined,
    );
  }
  const flatness = (prefix) => {
    const of = rows.filter((r) => r.metric.startsWith(prefix) && r.metric.endsWith('queued'));
    return Math.min(...of.map((r) => r.value)) / Math.max(...of.map((r) => r.value));
  };
  const flat = flatness('switchboard,');
  add('throughput', 'flatness: slowest / fastest depth', flat, '×', 'near 1', flat >= 0.8);
  const flatMany = flatness('switchboard runMany (');
  add(
    'throughput',
    'flatness, runMany: slowest / fastest depth',
    flatMany,
    '×',
    'near 1',
    flatMany >= 0.8,
  );
  const latency = await dispatchLatency();
  add('dispatch', 'submit → handler start, p50', latency.p50, 'µs', '', undefined);
  add('dispatch', 'submit → handler start, p99', latency.p99, 'µs', '≤ 100 µs', latency.p99 <= 100);
  const start = await agentStart();
  add('agent start', 'addAgent (create + start), p50', start.p50, 'ms', '', undefined);
  add('agent start', 'addAgent (create + start), p99', start.p99, 'ms', '≤ 1 ms', start.p99 <= 1);
  const crash = await failoverInProcess();
  add(
    'failover',
    'in-process crash: agent.failed → last of 100 tasks started elsewhere',
    crash.fromEvent,
    'ms',
    '≤ 250 ms',
    crash.fromEvent <= 250,
  );
  add(
    'failover',
    'in-process crash: throw → last of 100 tasks started elsewhere',
    crash.fromCrash,
    'ms',
    '',
    undefined,
  );
  const remote = await failoverRemote();
  add(
    'failover',
    `remote silent: detection (heartbeat timeout ${remote.heartbeatTimeoutMs} ms)`,
    remote.detectionMs,
    'ms',
    '',
    undefined,
  );
  add(
    'failover',
    'remote silent: agent.failed → last of 100 tasks started elsewhere',
    remote.fromEvent,
    'ms',
    '≤ 250 ms',
    remote.fromEvent <= 250,
  );
  add(
    'failover',
    'remote silent: heartbeat timeout → last task started elsewhere',
    remote.afterTimeout,
    'ms',
    '≤ 250 ms',
    remote.afterTimeout <= 250,
  );
  const memory = await memoryPerTask();
  if (memory !== undefined) {
    add(
      'memory',
      'per queued task beyond its payload (engine + backend; a plain batch, kept as columns)',
      memory.engine,
      'bytes',
      '≤ 300',
      memory.engine <= 300,
    );
    add(
      'memory',
      'per queued task, the caller keeping every handle',
      memory.withHandles,
      'bytes',
      '',
      undefined,
    );
    add(
      'memory',
      'per queued task with a per-task option (kept as a record)',
      memory.records,
      'bytes',
      '≤ 300',
      memory.records <= 300,
    );
  }
  return rows;
}

function format(value, unit) {
  if (unit === 'tasks/s') return Math.round(value).toLocaleString('en-US');
  if (unit === '×') return value.toFixed(2);
  if (unit === 'bytes') return Math.round(value).toString();
  return value < 10 ? value.toFixed(3) : value.toFixed(1);
}

/** The rows as a markdown table. */
export function toMarkdown(rows) {
  const lines = ['| section | metric | value | unit | bar | met |', '|---|---|---:|---|---|---|'];
  for (const r of rows) {
    const met = r.met === undefined ? '' : r.met ? 'yes' : '**no**';
    lines.push(
      `| ${r.section} | ${r.metric} | ${format(r.value, r.unit)} | ${r.unit} | ${r.bar} | ${met} |`,
    );
  }
  return lines.join('\n');
}

async function main() {
  if (typeof globalThis.gc !== 'function')
    console.warn('run with --expose-gc for the memory figure');
  const t0 = performance.now();
  const rows = await run();
  console.log(
    `## In-process engine (node ${process.version}, ${((performance.now() - t0) / 1000).toFixed(0)} s)\n`,
  );
  console.log(toMarkdown(rows));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
