// What the benches with worker processes share (redis.bench.mjs, worker.bench.mjs): a bench
// file forks itself with `--worker …`; the child builds its worker and serves it with
// `serveWorker`, reporting how many tasks it completed every 10 ms and stopping on 'stop';
// the parent forks it with `forkWorker` and ends it with `stopWorker`.
import { fork } from 'node:child_process';
import { Worker } from 'bullmq';

/** A BullMQ Worker of queue `name` at `concurrency` with a no-op processor, once connected. */
export async function bullWorker(name, port, concurrency) {
  const connection = { host: '127.0.0.1', port, maxRetriesPerRequest: null };
  let done = 0;
  const worker = new Worker(name, async () => ({ ok: true }), { connection, concurrency });
  worker.on('completed', () => done++);
  await worker.waitUntilReady();
  return { done: () => done, stop: () => worker.close() };
}

/** In the child: reports `w.done()` to the parent, and stops `w` and exits when told to. */
export function serveWorker(w) {
  const report = setInterval(() => process.send({ done: w.done() }), 10);
  process.on('message', async (m) => {
    if (m !== 'stop') return;
    clearInterval(report);
    await w.stop();
    process.exit(0);
  });
  process.send('ready');
}

/** In the parent: forks `file` with `args`; resolves once its worker is ready. */
export function forkWorker(file, args) {
  const child = fork(file, args);
  const state = { child, done: 0 };
  child.on('message', (m) => {
    if (m !== 'ready') state.done = m.done;
  });
  return new Promise((resolve, reject) => {
    child.once(
      'exit',
      (code) => code !== 0 && reject(new Error(`${args[1]} worker exited ${code}`)),
    );
    child.on('message', (m) => m === 'ready' && resolve(state));
  });
}

/** In the parent: stops a worker forked by `forkWorker` and waits for its exit. */
export function stopWorker(w) {
  return new Promise((resolve) => {
    w.child.once('exit', resolve);
    w.child.send('stop');
  });
}
