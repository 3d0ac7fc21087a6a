// The clients of the chaos suite: they submit with idempotency keys and retry until a server
// acknowledges (safe, since a repeated key gives back the first task), as docs/operations.md
// tells a client that got no answer to do.
import { call, sleep, transient } from '../helpers/http-agent.js';
import type { Ledger } from './ledger.js';

/** A task of a scenario: its idempotency key is its key, its payload names it. */
export interface Spec {
  key: string;
  capability: string;
  payload?: Record<string, unknown>;
  timeoutMs?: number;
  maxAttempts?: number;
  delayMs?: number;
}

const body = (s: Spec) => ({
  capability: s.capability,
  payload: { key: s.key, ...s.payload },
  idempotencyKey: s.key,
  ...(s.timeoutMs === undefined ? {} : { timeoutMs: s.timeoutMs }),
  ...(s.maxAttempts === undefined ? {} : { maxAttempts: s.maxAttempts }),
  ...(s.delayMs === undefined ? {} : { delayMs: s.delayMs }),
});

/**
 * Submits one batch through any live server until one answers 202, and records each task's
 * id by key. Gives up (returns false) only when `stopped()` turns true first.
 */
export async function submit(
  servers: () => string[],
  ledger: Ledger,
  specs: readonly Spec[],
  stopped: () => boolean = () => false,
): Promise<boolean> {
  while (!stopped()) {
    const live = servers();
    const base = live[Math.floor(Math.random() * live.length)];
    if (base === undefined) {
      await sleep(20);
      continue;
    }
    const a = await call(base, 'POST', '/v1/tasks/batch', { tasks: specs.map(body) }, 10_000);
    if (a.status === 202) {
      for (const [n, s] of specs.entries()) ledger.accept(s.key, a.body.ids[n]);
      return true;
    }
    if (!transient(a)) {
      ledger.unexpected.push(`batch: ${a.status} ${JSON.stringify(a.body)}`);
      return false;
    }
    await sleep(20);
  }
  return false;
}

/**
 * A client that submits a batch of `size` tasks made by `make(n)` every `everyMs` until
 * stopped; resolves with the number of batches acknowledged.
 */
export async function produce(
  servers: () => string[],
  ledger: Ledger,
  make: (n: number) => Spec,
  options: { size: number; everyMs: number; stopped: () => boolean },
): Promise<number> {
  let n = 0;
  let batches = 0;
  while (!options.stopped()) {
    const specs = Array.from({ length: options.size }, () => make(n++));
    if (await submit(servers, ledger, specs, options.stopped)) batches++;
    await sleep(options.everyMs);
  }
  return batches;
}
