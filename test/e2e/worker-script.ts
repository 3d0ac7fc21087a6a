// A worker of @switchboard/client as a user writes one, run by worker-runtimes.test.ts on
// Node, Bun and Deno from a bundle of the sources. The server's URL is its first argument.
// It prints one JSON line per thing the test checks, and closes itself (draining) when it
// gets a task whose payload says `close`.
import process from 'node:process';
import { createWorker } from '@switchboard/client';

interface Job {
  ms?: number;
  waitForCancel?: boolean;
  close?: boolean;
}

const say = (line: object) => console.log(JSON.stringify(line));
let now = 0;
let most = 0;

const worker = createWorker({
  url: process.argv[2] as string,
  capabilities: ['job'],
  concurrency: 3,
  leaseWaitMs: 1000,
  onError: (error) => say({ error: String(error) }),
  handler: async (payload: Job, ctx) => {
    most = Math.max(most, ++now);
    try {
      if (payload.close) {
        // Closing from inside a handler: the drain waits for this very task's answer.
        setTimeout(() => void worker.close({ drain: true }), 0);
        return 'closing';
      }
      if (payload.waitForCancel) {
        const reason = await new Promise<unknown>((resolve) => {
          ctx.signal.addEventListener('abort', () => resolve(ctx.signal.reason));
        });
        say({ aborted: ctx.taskId, code: (reason as { code?: string }).code });
        return null;
      }
      await new Promise((resolve) => setTimeout(resolve, payload.ms ?? 0));
      return { most, attempt: ctx.attempt };
    } finally {
      now--;
    }
  },
});

await worker.run();
say({ closed: worker.state, most });
