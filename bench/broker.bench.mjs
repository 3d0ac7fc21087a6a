// Messaging throughput: MessageBroker send+ack round trips to an in-process endpoint, topic
// publish fanned out to N subscriptions, and EventBus publish with wildcard subscriptions.
// Run `node scripts/build.mjs` first: '@switchboard/core' resolves to packages/core/dist.
// Usage: node bench/broker.bench.mjs   (BENCH_TIME_MS=500 per task by default)
import { pathToFileURL } from 'node:url';
import { createMessage, EventBus, MessageBroker } from '@switchboard/core';
import { Bench } from 'tinybench';

const BATCH = 1_000;
const FANOUT = 10;

function brokerRoundTrip() {
  const broker = new MessageBroker({ prefetch: 64 });
  broker.register('worker', (d) => {
    d.ack();
  });
  const messages = Array.from({ length: BATCH }, (_, i) =>
    createMessage({ type: 'task', sender: 'bench', recipient: 'worker', payload: i }),
  );
  return {
    name: 'broker send + ack (direct)',
    perIteration: BATCH,
    unit: 'messages/s',
    fn: () => {
      for (const m of messages) broker.send(m);
    },
    close: () => broker.close(),
  };
}

function brokerFanout() {
  const broker = new MessageBroker({ prefetch: 64 });
  for (let i = 0; i < FANOUT; i++) {
    broker.subscribe(i % 2 === 0 ? 'task.*' : 'task.**', (d) => {
      d.ack();
    });
  }
  const messages = Array.from({ length: BATCH }, (_, i) =>
    createMessage({ type: 'event', sender: 'bench', topic: 'task.completed', payload: i }),
  );
  return {
    name: `broker publish to ${FANOUT} subscriptions + ack`,
    perIteration: BATCH,
    unit: 'publishes/s',
    fn: () => {
      for (const m of messages) broker.publish(m);
    },
    close: () => broker.close(),
  };
}

function busWildcards() {
  const bus = new EventBus();
  let received = 0;
  const count = () => {
    received++;
  };
  for (let i = 0; i < 100; i++) bus.subscribe(`agent.a${i}.failed`, count);
  for (const pattern of ['task.*', 'task.**', 'agent.*.failed', 'agent.**', '**.dead', '*.*.x']) {
    bus.subscribe(pattern, count);
  }
  const topics = [
    'task.completed',
    'task.failed',
    'agent.a7.failed',
    'agent.a99.state',
    'task.x.dead',
  ];
  const data = { taskId: 't-1' };
  return {
    name: 'EventBus publish (106 subscriptions, wildcards)',
    perIteration: BATCH,
    unit: 'publishes/s',
    fn: () => {
      for (let i = 0; i < BATCH; i++) bus.publish(topics[i % topics.length], data);
    },
    close: () => {
      if (received === 0) throw new Error('EventBus bench delivered nothing');
      bus.clear();
    },
  };
}

/** Runs every case and returns one row per case: `{ name, opsPerSec, unit, rme }`. */
export async function run({ timeMs = Number(process.env.BENCH_TIME_MS ?? 500) } = {}) {
  const cases = [brokerRoundTrip(), brokerFanout(), busWildcards()];
  const bench = new Bench({ time: timeMs, warmupTime: Math.min(200, timeMs) });
  for (const c of cases) bench.add(c.name, c.fn);
  await bench.run();
  const rows = bench.tasks.map((task, i) => {
    const c = cases[i];
    const result = task.result;
    if (result.state !== 'completed') {
      throw new Error(`${c.name}: ${result.state} ${result.error?.message ?? ''}`);
    }
    return {
      name: c.name,
      opsPerSec: Math.round(result.throughput.mean * c.perIteration),
      unit: c.unit,
      rme: Number(result.throughput.rme.toFixed(2)),
    };
  });
  for (const c of cases) c.close();
  return rows;
}

/** The rows as a markdown table. */
export function toMarkdown(rows) {
  const lines = ['| benchmark | throughput | ± % |', '|---|---:|---:|'];
  for (const r of rows) {
    lines.push(`| ${r.name} | ${r.opsPerSec.toLocaleString('en-US')} ${r.unit} | ${r.rme} |`);
  }
  return lines.join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(toMarkdown(await run()));
}
