// Takes the dashboard's screenshots in docs/images/ (not run by CI): a server with in-process
// and remote agents under a steady load, a queue no agent serves, a remote agent that stops
// heartbeating and a few tasks that end dead, seen by headless Chromium after a minute.
// Run `node scripts/build.mjs` first; Chromium is /usr/bin/chromium or $CHROMIUM_BIN.
//
//   node scripts/screenshots.mjs
import { createRequire } from 'node:module';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const { createSwitchboard, defineAgent, SwitchboardError } = await import(
  join(root, 'packages/core/dist/index.js')
);
const { createApp } = await import(join(root, 'packages/server/dist/index.js'));
const { nodeRuntime } = await import(join(root, 'packages/server/dist/node.js'));
const { createClient, createWorker } = await import(join(root, 'packages/client/dist/index.js'));
// playwright-core is a dependency of the tests' package.
const { chromium } = createRequire(join(root, 'test/package.json'))('playwright-core');

const WARM_UP_MS = Number(process.env.WARM_UP_MS ?? 70_000);
const out = join(root, 'docs/images');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const between = (lo, hi) => lo + Math.random() * (hi - lo);

const summarizer = defineAgent({
  name: 'summarizer',
  capabilities: ['llm'],
  config: { maxConcurrency: 4 },
  async handle(payload, ctx) {
    await sleep(between(40, 260));
    if (payload?.poison) {
      throw new SwitchboardError('invalid_request', 'the document is not UTF-8', {
        retryable: false,
      });
    }
    if (payload?.flaky && ctx.attempt === 1) throw new Error('upstream model timed out');
    return { summary: `${payload?.text ?? ''}`.slice(0, 20), tokens: Math.round(between(80, 900)) };
  },
});
const browser = defineAgent({
  name: 'browser',
  capabilities: ['browser'],
  config: { maxConcurrency: 2 },
  async handle() {
    await sleep(between(200, 700));
    return { status: 200 };
  },
});

const sb = createSwitchboard({
  agents: [
    { definition: summarizer, min: 3 },
    { definition: browser, min: 2 },
  ],
  heartbeatIntervalMs: 1_000,
  heartbeatTimeoutMs: 3_000,
  retry: { initialDelayMs: 200, maxDelayMs: 1_000 },
});
await sb.start();
const app = createApp(sb);
const server = await nodeRuntime.serve(app.fetch, { port: 0, host: '127.0.0.1' });
const url = `http://127.0.0.1:${server.port}`;
const client = createClient({ baseUrl: url });

const workers = ['ocr-1', 'ocr-2'].map((name) =>
  createWorker({
    url,
    name,
    capabilities: ['ocr'],
    concurrency: 3,
    leaseWaitMs: 1_000,
    handler: async () => {
      await sleep(between(100, 450));
      return { pages: Math.round(between(1, 12)) };
    },
  }),
);
const running = workers.map((w) => w.run());

const chrome = await chromium.launch({
  executablePath: process.env.CHROMIUM_BIN || '/usr/bin/chromium',
});
const page = await chrome.newPage({ viewport: { width: 1440, height: 900 } });
await page.goto(`${url}/ui/#/queues`);

let submitting = true;
const load = (async () => {
  const pick = (list) => list[Math.floor(Math.random() * list.length)];
  while (submitting) {
    const tasks = [];
    for (let i = 0; i < 6; i++) {
      tasks.push({
        capability: pick(['llm', 'llm', 'llm', 'browser', 'ocr', 'ocr']),
        priority: pick(['normal', 'normal', 'high', 'low', 'critical']),
        payload: { text: 'a long report to summarise', flaky: Math.random() < 0.03 },
      });
    }
    // A capability no agent serves: its queue only grows.
    if (Math.random() < 0.3)
      tasks.push({ capability: 'translate', priority: pick(['low', 'normal']) });
    await client.submitBatch(tasks);
    await sleep(250);
  }
})();

// A remote agent that registers and then never heartbeats: the server fails it.
await sleep(3_000);
await client.registerAgent({
  name: 'gpu-remote',
  capabilities: ['embed', 'llm'],
  maxConcurrency: 8,
});
for (let i = 0; i < 4; i++) {
  await client.submit({ capability: 'llm', payload: { poison: true }, maxAttempts: 2 });
}
const { id: retried } = await client.submit({
  capability: 'llm',
  priority: 'high',
  idempotencyKey: 'report-2026-12-07',
  payload: { text: 'quarterly report', flaky: true },
});
await sleep(WARM_UP_MS);

// The page keeps what it saw while it stays open; hash changes keep it.
await page.evaluate(() => {
  window.location.hash = '#/queues';
});
await sleep(2_000);
await page.screenshot({ path: join(out, 'queues.png') });
console.log('screenshots: docs/images/queues.png');
for (const [hash, file, prepare] of [
  ['agents', 'agents.png'],
  [`tasks/${retried}`, 'task.png'],
  [
    'dead-letters',
    'dead-letters.png',
    () => page.locator('button', { hasText: 'Inspect' }).first().click(),
  ],
  ['events', 'events.png'],
]) {
  await page.evaluate((h) => {
    window.location.hash = `#/${h}`;
  }, hash);
  await sleep(1_500);
  await prepare?.();
  await sleep(300);
  await page.screenshot({ path: join(out, file) });
  console.log(`screenshots: docs/images/${file}`);
}
const dark = await chrome.newPage({ viewport: { width: 1440, height: 900 }, colorScheme: 'dark' });
await dark.goto(`${url}/ui/#/queues`);
await sleep(12_000);
await dark.screenshot({ path: join(out, 'queues-dark.png') });
console.log('screenshots: docs/images/queues-dark.png');

submitting = false;
await load;
await chrome.close();
for (const w of workers) await w.close({ drain: false });
await Promise.allSettled(running);
await server.close();
await sb.shutdown({ drain: false });
