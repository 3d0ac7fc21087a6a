/**
 * examples/edge-worker in the Cloudflare Workers runtime itself: workerd, from npm through
 * miniflare, serves the Worker bundled with esbuild as `wrangler deploy` bundles it (browser
 * platform, the `workerd` and `worker` export conditions, @switchboard/core's built package).
 * The Worker's Switchboard runs its agents in the isolate; the answers are checked over HTTP
 * on 127.0.0.1, including a task retried until it succeeds and one that outlives its timeout.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServedWorker, serveOnWorkerd } from './workerd.js';

let worker: ServedWorker;
let url = '';

beforeAll(async () => {
  worker = await serveOnWorkerd('worker.ts');
  url = worker.url;
}, 60_000);

afterAll(() => worker?.stop());

interface Outcome {
  status: 'completed' | 'failed';
  result?: Record<string, unknown>;
  error?: { code: string; message: string; last?: string };
}

async function run(tasks: unknown[]): Promise<Outcome[]> {
  const res = await fetch(url, { method: 'POST', body: JSON.stringify({ tasks }) });
  expect(res.status).toBe(200);
  return ((await res.json()) as { outcomes: Outcome[] }).outcomes;
}

describe('examples/edge-worker on workerd', { timeout: 30_000 }, () => {
  it('is bundled without any import left over: the core needs no Node built-in', () => {
    expect(worker.imports).toEqual([]);
  });

  it('answers with the results of tasks fanned out to in-process agents', async () => {
    const texts = ['one', 'two', 'three', 'four', 'five'];
    const outcomes = await run(texts.map((text) => ({ capability: 'shout', payload: { text } })));
    expect(outcomes).toEqual(
      texts.map((text) => ({
        status: 'completed',
        result: { text: text.toUpperCase(), attempt: 1 },
      })),
    );
  });

  it('retries a retryable failure until an attempt succeeds, and gives up after maxAttempts', async () => {
    const [recovered, dead] = await run([
      { capability: 'flaky', payload: { failures: 2 }, maxAttempts: 3 },
      { capability: 'flaky', payload: { failures: 5 }, maxAttempts: 2 },
    ]);
    expect(recovered).toEqual({ status: 'completed', result: { attempt: 3 } });
    expect(dead?.status).toBe('failed');
    expect(dead?.error).toMatchObject({ code: 'task_failed', last: 'agent_failed' });
    expect(dead?.error?.message).toMatch(/failed after 2 attempt\(s\): attempt 2 failed/);
  });

  it('fails a task whose agent outlives its timeout, and answers without waiting for it', async () => {
    const t0 = Date.now();
    const [late, inTime] = await run([
      { capability: 'slow', payload: { ms: 10_000 }, timeoutMs: 300, maxAttempts: 1 },
      { capability: 'slow', payload: { ms: 50 }, timeoutMs: 5_000 },
    ]);
    expect(late?.status).toBe('failed');
    // Its lease expired: the task had one attempt, so it is dead.
    expect(late?.error).toMatchObject({ code: 'task_failed', last: 'expired' });
    expect(late?.error?.message).toMatch(/failed after 1 attempt\(s\): lease expired/);
    expect(inTime).toEqual({ status: 'completed', result: { waitedMs: 50, attempt: 1 } });
    // The slow agent would have answered after 10 s; the timeout ended the wait long before.
    expect(Date.now() - t0).toBeLessThan(8_000);
  });

  it('refuses a body that is not a batch it can run with a 400 saying why', async () => {
    const refused = async (body: string) => {
      const res = await fetch(url, { method: 'POST', body });
      expect(res.status).toBe(400);
      return ((await res.json()) as { error: { code: string; message: string } }).error;
    };
    expect(await refused('not json')).toEqual({
      code: 'invalid_request',
      message: 'the body must be JSON',
    });
    expect((await refused(JSON.stringify({ tasks: [{ capability: 'llm' }] }))).message).toBe(
      'tasks[0].capability must be one of shout, flaky, slow, got "llm"',
    );
    expect(
      (await refused(JSON.stringify({ tasks: [{ capability: 'shout', timeout: 5 }] }))).message,
    ).toBe(
      'tasks[0] has an unknown key "timeout"; known: capability, payload, priority, timeoutMs, maxAttempts',
    );
    const bad = await refused(
      JSON.stringify({ tasks: [{ capability: 'shout', payload: {}, maxAttempts: 0 }] }),
    );
    expect(bad.code).toBe('invalid_request');
    expect(bad.message).toMatch(/maxAttempts/);
  });
});
