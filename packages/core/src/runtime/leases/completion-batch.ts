import type { Completion } from '../../contracts/backend.js';
import type { TaskRecord } from '../../model/task.js';
import type { Engine } from '../engine.js';
import type { InFlight } from '../pool/pool-member.js';

/** The roles the completion batch uses, so that it can be built and tested with just these. */
export type CompletionBatchRoles = Pick<Engine, 'backend' | 'now'>;

/** The completion arrays of a turn are made at most this large up front. */
const MAX_PRESIZE = 4096;

/**
 * The completions of one microtask turn, sent to the backend in one `completeMany` call at
 * its end (or one `complete` each, for a backend without it). The arrays of a turn are
 * made as large as the largest turn so far (up to MAX_PRESIZE), so a turn of a thousand
 * completions does not grow them by pushes, whatever the size of the turn before.
 */
export class CompletionBatch {
  readonly #engine: CompletionBatchRoles;
  readonly #completed: (record: TaskRecord, entry: InFlight, now: number) => void;
  readonly #lost: (error: unknown) => void;
  #entries: InFlight[] = [];
  #results: unknown[] = [];
  #count = 0;
  /** The most completions a turn has had (up to MAX_PRESIZE): the next arrays' size. */
  #presize = 0;
  readonly #flush = () => this.#send();

  /** `completed` is told of each completion the backend accepted, `lost` of each it refused. */
  constructor(
    engine: CompletionBatchRoles,
    completed: (record: TaskRecord, entry: InFlight, now: number) => void,
    lost: (error: unknown) => void,
  ) {
    this.#engine = engine;
    this.#completed = completed;
    this.#lost = lost;
  }

  /** Adds a completion; the batch is sent at the end of this microtask turn. */
  add(entry: InFlight, result: unknown): void {
    const k = this.#count++;
    if (k === 0) queueMicrotask(this.#flush);
    if (k < this.#entries.length) {
      this.#entries[k] = entry;
      this.#results[k] = result;
    } else {
      this.#entries.push(entry);
      this.#results.push(result);
    }
  }

  #send(): void {
    const n = this.#count;
    const entries = this.#entries;
    const results = this.#results;
    entries.length = n;
    if (n > this.#presize) this.#presize = Math.min(n, MAX_PRESIZE);
    this.#entries = new Array(this.#presize);
    this.#results = new Array(this.#presize);
    this.#count = 0;
    const completions: Completion[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const entry = entries[i] as InFlight;
      completions[i] = { id: entry.task.id, leaseToken: entry.token, result: results[i] };
    }
    const engine = this.#engine;
    const backend = engine.backend;
    const now = engine.now();
    if (backend.completeMany === undefined) {
      for (let i = 0; i < n; i++) {
        const c = completions[i] as Completion;
        backend.complete(c.id, c.leaseToken, c.result, now).then(
          (record) => this.#completed(record, entries[i] as InFlight, engine.now()),
          (error: unknown) => this.#lost(error),
        );
      }
      return;
    }
    backend.completeMany(completions, now).then(
      (outcomes) => {
        // One clock read for the batch: its tasks ended together, in one backend call.
        const at = engine.now();
        for (let i = 0; i < n; i++) {
          const outcome = outcomes[i];
          if (outcome instanceof Error || outcome === undefined) this.#lost(outcome);
          else this.#completed(outcome, entries[i] as InFlight, at);
        }
      },
      (error: unknown) => this.#lost(error),
    );
  }
}
