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
  // A completion is acknowledged by `/complete`'s 200, or by a `completed` outcome in the
  // answer of a batch of answers or of a lease request that carried answers.
  fetch: async (input, init) => {
    const res = await fetch(input, init);
    if (!res.ok) return res;
    const m = /\/v1\/tasks\/([^/]+)\/complete$/.exec(String(input));
    if (m !== null) say({ ack: decodeURIComponent(m[1] as string) });
    else if (/\/lease$|\/v1\/tasks\/answers$/.test(String(input))) {
      const body = (await res.clone().json()) as {
        answers?: { taskId: string; status?: string }[];
      };
      for (const outcome of body.answers ?? []) {
        if (outcome.status === 'completed') say({ ack: outcome.taskId });
      }
    }
    return res;
  },
  handler: async (payload: { i: number }, ctx) => {
    say({ run: ctx.taskId });
    await new Promise((resolve) => setTimeout(resolve, 150));
    return { i: payload.i };
  },
});
await worker.run();
