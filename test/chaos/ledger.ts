// What a chaos scenario saw, and the invariants every scenario checks at its end. The ledger
// is written by the clients and the remote agents of the scenario; the final states are read
// back from a server once the faults stop.
import { expect } from 'vitest';
import { call } from '../helpers/http-agent.js';

/** How long the short suite runs: `npm run chaos -- --rounds N` sets CHAOS_ROUNDS. */
export function rounds(short: number): number {
  const n = Number(process.env.CHAOS_ROUNDS);
  return Number.isInteger(n) && n > 0 ? n : short;
}

/** True when the long suite runs (`npm run chaos`). */
export const long = process.env.CHAOS_ROUNDS !== undefined && process.env.CHAOS_ROUNDS !== '';

/** What the clients and agents of one scenario saw. */
export class Ledger {
  /** Task id by idempotency key, for every task a client got a 202 (or 200) for. */
  readonly accepted = new Map<string, string>();
  /** Lease instants of each task id, as the agents received them. */
  readonly leases = new Map<string, number[]>();
  /** When each lease (by its token) was received. */
  readonly leasedAt = new Map<string, number>();
  /** Acknowledged completes (200) per task id. */
  readonly acked = new Map<string, number>();
  /** When each task's first complete was acknowledged. */
  readonly ackedAt = new Map<string, number>();
  /** When each failed attempt's fail was sent, by `<task id>#<attempt>` (a retry is due its backoff after it). */
  readonly failSentAt = new Map<string, number>();
  /** Leases received of a task whose completion had already been acknowledged. */
  readonly redelivered: string[] = [];
  /** Tasks a handler failed for good (not retryable, or on their last attempt). */
  readonly failedByHandler = new Set<string>();
  /** Completes refused (409) although the agent held the lease it was given. */
  readonly refused: string[] = [];
  /**
   * Completes refused (409) because the server had removed the agent's registration for
   * missed heartbeats while it held the lease: a failover, as it should be, counted apart.
   */
  readonly removedHolding: string[] = [];
  /** Answers no client should ever get (a 500, a 400 for a valid request, ...). */
  readonly unexpected: string[] = [];

  accept(key: string, id: string): void {
    const first = this.accepted.get(key);
    if (first === undefined) this.accepted.set(key, id);
    else if (first !== id) this.unexpected.push(`${key} answered ${id}, first ${first}`);
  }

  leased(id: string, token?: string, at = Date.now()): void {
    if (this.acked.has(id)) this.redelivered.push(id);
    if (token !== undefined) this.leasedAt.set(token, at);
    const times = this.leases.get(id);
    if (times === undefined) this.leases.set(id, [at]);
    else times.push(at);
  }

  completed(id: string): void {
    this.acked.set(id, (this.acked.get(id) ?? 0) + 1);
    if (!this.ackedAt.has(id)) this.ackedAt.set(id, Date.now());
  }
}

/** A task as `GET /v1/tasks/{id}` shows it. */
export interface TaskView {
  id: string;
  status: string;
  attempts: number;
  // biome-ignore lint/suspicious/noExplicitAny: results are checked field by field.
  result?: any;
  error?: { message: string; code?: string };
}

/** Runs `fn` over `items`, `limit` at a time. */
export async function each<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

/**
 * Waits until every accepted task is terminal (completed, dead or cancelled), reading them
 * through `base()`; returns their final views. Gives up after `timeoutMs` and returns what
 * it has (the lost tasks then show in the invariants).
 */
export async function settle(
  base: () => string,
  ledger: Ledger,
  timeoutMs: number,
): Promise<Map<string, TaskView>> {
  const views = new Map<string, TaskView>();
  const pending = new Set(ledger.accepted.values());
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await each([...pending], 8, async (id) => {
      const a = await call(base(), 'GET', `/v1/tasks/${id}`);
      if (a.status !== 200) return;
      views.set(id, a.body);
      if (['completed', 'dead', 'cancelled'].includes(a.body.status)) pending.delete(id);
    });
    if (pending.size === 0 || Date.now() > deadline) return views;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The dead letters a server lists, by id. */
export async function deadLetters(base: string): Promise<Map<string, TaskView>> {
  let a = await call(base, 'GET', '/v1/dead-letters', undefined, 20_000);
  // A server with a rate limit may ask the reader to wait.
  for (let i = 0; a.status === 429 && i < 50; i++) {
    await new Promise((r) => setTimeout(r, 200));
    a = await call(base, 'GET', '/v1/dead-letters', undefined, 20_000);
  }
  expect(a.status).toBe(200);
  return new Map((a.body.tasks as TaskView[]).map((t) => [t.id, t]));
}

/** The counts of the invariants, all of which must be 0. */
export interface Verdict {
  /** Accepted tasks not terminal (or not found) at the end. */
  lost: string[];
  /** Completes acknowledged twice, and leases of tasks already acknowledged. */
  duplicates: string[];
  /** Dead tasks no handler failed (a server crash or a lost lease killed them). */
  deadByFaults: string[];
  /** Tasks a handler failed for good that are not in the dead letters. */
  invisible: string[];
}

/**
 * Checks the invariants of the suite on the final views: no accepted task lost; no task
 * delivered again, nor completed twice, after its completion was acknowledged; no task dead
 * unless a handler failed it (`poison` adds tasks allowed to die for crashing their process);
 * every failure for good in the dead letters. Returns the verdict so that a scenario can
 * print it; asserts it last.
 */
export function verdict(
  ledger: Ledger,
  views: Map<string, TaskView>,
  dead: Map<string, TaskView>,
  poison: ReadonlySet<string> = new Set(),
): Verdict {
  const ids = [...ledger.accepted.values()];
  const terminal = (t: TaskView | undefined) =>
    t !== undefined && ['completed', 'dead', 'cancelled'].includes(t.status);
  const lost = ids
    .filter((id) => !terminal(views.get(id)))
    .map(
      (id) =>
        `${id} ${views.get(id)?.status ?? 'missing'} after ${views.get(id)?.attempts} attempts`,
    );
  const duplicates = [
    ...[...ledger.acked].filter(([, n]) => n > 1).map(([id, n]) => `${id} acknowledged ${n}×`),
    ...ledger.redelivered.map((id) => `${id} leased after its completion was acknowledged`),
    ...[...ledger.acked.keys()]
      .filter((id) => views.get(id)?.status !== 'completed')
      .map((id) => `${id} acknowledged, now ${views.get(id)?.status}`),
  ];
  const deadByFaults = ids.filter(
    (id) => views.get(id)?.status === 'dead' && !ledger.failedByHandler.has(id) && !poison.has(id),
  );
  const invisible = [...ledger.failedByHandler, ...poison].filter(
    (id) => views.get(id)?.status === 'dead' && !dead.has(id),
  );
  return { lost, duplicates, deadByFaults, invisible };
}

/**
 * Failover times: for each task a dead agent held (`abandoned`: id → when it died, and the
 * lease token it held), the time from its death to the task's next lease. A task the dead
 * agent had completed just before (its complete ran, the answer never came) is left out, and
 * so is one that ended dead when its lease was released (a task its handler fails on
 * purpose, held on its last attempt: the release counts that attempt, so there is no next
 * lease; whether that death was the handler's or a fault's is the verdict's business). A task
 * leased again after the dead agent's lease but before its death (that lease had expired
 * while the agent still tried to answer it) had failed over already, and counts as 0. One
 * never leased again otherwise counts as infinite.
 */
export function failovers(
  ledger: Ledger,
  views: Map<string, TaskView>,
  abandoned: Map<string, { at: number; token: string }>,
): number[] {
  return [...abandoned]
    .filter(([id, { token }]) => views.get(id)?.result?.lease !== token)
    .filter(([id]) => !(views.get(id)?.status === 'dead' && ledger.failedByHandler.has(id)))
    .map(([id, { at, token }]) => {
      const from = ledger.leasedAt.get(token) ?? at;
      const next = ledger.leases.get(id)?.find((t) => t > from);
      return next === undefined ? Number.POSITIVE_INFINITY : Math.max(0, next - at);
    });
}

/** Prints one line of figures, `chaos <scenario>: name value, ...`, for bench/RESULTS.md. */
export function report(scenario: string, figures: Record<string, unknown>): void {
  const parts = Object.entries(figures).map(([k, v]) => `${k} ${String(v)}`);
  console.log(`chaos ${scenario}: ${parts.join(', ')}`);
}

/** Asserts a verdict: every list empty, and no unexpected answer. */
export function expectClean(ledger: Ledger, v: Verdict): void {
  const sample = (xs: string[]) => xs.slice(0, 10);
  expect({
    lost: sample(v.lost),
    duplicates: sample(v.duplicates),
    deadByFaults: sample(v.deadByFaults),
    invisible: sample(v.invisible),
    unexpected: sample(ledger.unexpected),
  }).toEqual({ lost: [], duplicates: [], deadByFaults: [], invisible: [], unexpected: [] });
}

/** The largest value and the 99th percentile of `xs` (0 when empty), rounded to 0.1. */
export function maxP99(xs: readonly number[]): { max: number; p99: number; p50: number } {
  if (xs.length === 0) return { max: 0, p99: 0, p50: 0 };
  const sorted = [...xs].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  const r = (x: number | undefined) => Math.round((x ?? 0) * 10) / 10;
  return { max: r(sorted[sorted.length - 1]), p99: r(at(0.99)), p50: r(at(0.5)) };
}
