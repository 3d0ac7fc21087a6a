import { createWorker } from '@switchboard/client';

const worker = createWorker({
  url: process.env.SWITCHBOARD_URL ?? 'http://127.0.0.1:8787',
  token: process.env.SWITCHBOARD_AGENT_TOKEN, // when auth is on
  capabilities: ['browser'],
  concurrency: 4,
  handler: async (payload: { url: string }, { signal }) => {
    const page = await fetch(payload.url, { signal });
    return { status: page.status, bytes: (await page.text()).length };
  },
});
process.once('SIGTERM', () => void worker.close()); // finishes the tasks in flight, then leaves
await worker.run();
