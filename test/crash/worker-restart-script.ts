// The worker of worker-restart.test.ts as a process of Node, Bun or Deno: it prints a line
// when a handler starts (`run`) and when the server acknowledges a completion (`ack`), so
// that the test can tell whether a task ran again after its completion was taken.
import process from 'node:process';
import { createWorker } from '@switchboard/client';

const say = (line: object) => console.log(JSON.stringify(line));

const worker = createWorker({
  url: process.argv[2] as string,
  capabilities: ['job'],
  concurrency: 4,
  leaseWaitMs: 1000,
  backoff: { initialMs: 50, maxMs: 500 },
  onError: (error) => say({ error: String(error) }),
  fetch: async (input, init) => {
    const res = await fetch(input, init);
    const m = /\/v1\/tasks\/([^/]+)\/complete$/.exec(String(input));
    if (m !== null && res.ok) say({ ack: decodeURIComponent(m[1] as string) });
    return res;
  },
  handler: async (payload: { i: number }, ctx) => {
    say({ run: ctx.taskId });
    await new Promise((resolve) => setTimeout(resolve, 150));
    return { i: payload.i };
  },
});
await worker.run();
