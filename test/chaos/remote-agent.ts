// A remote agent of the chaos suite, written as a careful user would write one against
// docs/http.md: it registers once and keeps its id, heartbeats while it works, long-polls for
// as many tasks as it has free slots, retries every call through connection errors and 503s
// (on any live server), and registers again only when told 404. It records what it sees in
// the scenario's ledger.
import { type Answer, call, sleep, transient } from '../helpers/http-agent.js';
import type { Ledger } from './ledger.js';

/** A task lease as `POST /v1/agents/{id}/lease` hands it out. */
export interface Lease {
  id: string;
  leaseToken: string;
  leaseExpiresAt: number;
  attempt: number;
  // biome-ignore lint/suspicious/noExplicitAny: payloads are the scenario's own.
  payload: any;
}

/** What the agent does with one task: work `ms`, then complete or fail it. */
export interface Work {
  ms: number;
  outcome: 'complete' | 'fail' | 'fail-retryable';
}

/** Options of {@link RemoteAgent}. */
export interface RemoteAgentOptions {
  name: string;
  capabilities: string[];
  /** The URLs of the servers believed alive; the agent moves to another when one fails. */
  servers: () => string[];
  ledger: Ledger;
  /** How often it heartbeats while it works (a third of the heartbeat timeout). */
  heartbeatMs: number;
  /** Slots; default 10. */
  maxConcurrency?: number;
  /** Default: complete at once. */
  work?: (task: Lease) => Work;
  /** How long a complete is retried before it is given up; default 30 s. */
  persistMs?: number;
  /** How long one lease call long-polls; default 1 s. */
  waitMs?: number;
}

/** A remote worker over plain `fetch`; {@link RemoteAgent.run} until {@link RemoteAgent.stop}. */
export class RemoteAgent {
  id: string | undefined;
  registrations = 0;
  completed = 0;
  /** Completes that were retried after an error (an outcome a crash left unknown). */
  retried = 0;
  /** Tasks held right now (leased, not yet completed or failed). */
  readonly held = new Map<string, Lease>();
  readonly #o: RemoteAgentOptions;
  #base: string | undefined;
  #stopped = false;
  #silent = false;
  /** Aborted by silence(): open connections close, as a killed process's do. */
  readonly #dying = new AbortController();
  /** Bumped at each registration: a 409 for a lease of an earlier one is expected. */
  #epoch = 0;
  readonly #running = new Set<Promise<void>>();

  constructor(options: RemoteAgentOptions) {
    this.#o = options;
  }

  /** Ends the loops; what it holds stays unanswered (as a killed process leaves it). */
  stop(): void {
    this.#stopped = true;
  }

  /**
   * Dies at once, as a killed process: its open connections close (a long-poll in flight
   * ends) and it never calls again; what it holds stays unanswered.
   */
  silence(): void {
    this.#silent = true;
    this.#dying.abort();
    this.#stopped = true;
  }

  /** Runs the heartbeat and poll loops until stopped; resolves once its calls are done. */
  async run(): Promise<void> {
    await Promise.all([this.#poll(), this.#heartbeats()]);
    if (!this.#silent) await Promise.all(this.#running);
  }

  /** One call to the current server; a transient failure moves to another live one. */
  async #call(method: string, path: string, body?: unknown, timeoutMs?: number): Promise<Answer> {
    const live = this.#o.servers();
    if (this.#base === undefined || !live.includes(this.#base)) {
      this.#base = live[Math.floor(Math.random() * live.length)];
    }
    if (this.#base === undefined) return { status: 0, body: undefined };
    const a = await call(this.#base, method, path, body, timeoutMs ?? 30_000, this.#dying.signal);
    if (transient(a)) {
      const others = live.filter((u) => u !== this.#base);
      if (others.length > 0) this.#base = others[Math.floor(Math.random() * others.length)];
    }
    return a;
  }

  /** A GET retried through a server's restart, for up to 10 s. */
  async #read(path: string): Promise<Answer> {
    const end = Date.now() + 10_000;
    for (;;) {
      const a = await this.#call('GET', path);
      if (!transient(a) || Date.now() > end || this.#silent) return a;
      await sleep(50);
    }
  }

  #note(what: string, a: Answer): void {
    if (!transient(a) && !this.#silent)
      this.#o.ledger.unexpected.push(
        `${this.#o.name} ${what}: ${a.status} ${JSON.stringify(a.body)}`,
      );
  }

  async #register(): Promise<void> {
    const a = await this.#call('POST', '/v1/agents', {
      name: this.#o.name,
      capabilities: this.#o.capabilities,
      maxConcurrency: this.#o.maxConcurrency ?? 10,
    });
    if (a.status === 201) {
      this.id = a.body.id;
      this.registrations++;
      this.#epoch++;
    } else {
      this.#note('register', a);
      await sleep(20);
    }
  }

  async #heartbeats(): Promise<void> {
    while (!this.#stopped) {
      await sleep(this.#o.heartbeatMs);
      const id = this.id;
      if (this.#stopped || id === undefined) continue;
      const a = await this.#call('POST', `/v1/agents/${id}/heartbeat`);
      // 404: failed for a missed heartbeat, register again (unless the poll already has).
      if (a.status === 404) {
        if (this.id === id) this.id = undefined;
      } else if (a.status !== 200) this.#note('heartbeat', a);
    }
  }

  async #poll(): Promise<void> {
    const max = this.#o.maxConcurrency ?? 10;
    while (!this.#stopped) {
      if (this.id === undefined) {
        await this.#register();
        continue;
      }
      const free = max - this.held.size;
      if (free <= 0) {
        await sleep(5);
        continue;
      }
      const id = this.id;
      const a = await this.#call('POST', `/v1/agents/${id}/lease`, {
        max: free,
        waitMs: this.#o.waitMs ?? 1000,
      });
      if (this.#silent) return;
      if (a.status === 200) {
        for (const task of a.body.tasks as Lease[]) {
          this.#o.ledger.leased(task.id, task.leaseToken);
          this.held.set(task.id, task);
          const p = this.#work(task, this.#epoch);
          this.#running.add(p);
          void p.finally(() => this.#running.delete(p));
        }
      } else if (a.status === 404) {
        if (this.id === id) this.id = undefined;
      } else {
        this.#note('lease', a);
        await sleep(20);
      }
    }
  }

  async #work(task: Lease, epoch: number): Promise<void> {
    const work = this.#o.work?.(task) ?? { ms: 0, outcome: 'complete' };
    if (work.ms > 0) await sleep(work.ms);
    if (this.#silent) return;
    if (work.outcome === 'complete') await this.#answer(task, epoch, 'complete');
    else await this.#answer(task, epoch, 'fail', work.outcome === 'fail-retryable');
    this.held.delete(task.id);
  }

  /** Completes or fails a lease, retried through errors on any live server. */
  async #answer(task: Lease, epoch: number, kind: 'complete' | 'fail', retryable = false) {
    const ledger = this.#o.ledger;
    const body =
      kind === 'complete'
        ? {
            leaseToken: task.leaseToken,
            result: { key: task.payload?.key, lease: task.leaseToken },
          }
        : {
            leaseToken: task.leaseToken,
            error: { message: `${this.#o.name} failed ${task.id}`, retryable },
          };
    const giveUpAt = Date.now() + (this.#o.persistMs ?? 30_000);
    let tries = 0;
    let sentAt = 0;
    while (!this.#silent) {
      tries++;
      sentAt = Date.now();
      if (kind === 'fail' && tries === 1)
        ledger.failSentAt.set(`${task.id}#${task.attempt}`, Date.now());
      const a = await this.#call('POST', `/v1/tasks/${task.id}/${kind}`, body);
      if (a.status === 200) {
        if (tries > 1) this.retried++;
        if (kind === 'complete') {
          ledger.completed(task.id);
          this.completed++;
        } else if (a.body.status === 'dead') ledger.failedByHandler.add(task.id);
        return;
      }
      if (a.status === 409) {
        // A retry after an unknown outcome: the first call may have run (docs/operations.md
        // says to read the task then). The server may be down again by now: read it once it
        // is back.
        const t = (await this.#read(`/v1/tasks/${task.id}`)).body;
        if (
          tries > 1 &&
          kind === 'complete' &&
          t?.status === 'completed' &&
          t.result?.lease === task.leaseToken
        ) {
          this.retried++;
          ledger.completed(task.id);
          this.completed++;
        } else if (kind === 'fail' && tries > 1 && t?.status === 'dead') {
          ledger.failedByHandler.add(task.id);
        } else if (epoch === this.#epoch && this.id !== undefined && sentAt < task.leaseExpiresAt) {
          // Refused while the agent thought itself registered and its lease had not expired.
          // Unless the server had removed this registration meanwhile (its heartbeats missed
          // the timeout, on a starved machine), which fails its leases over as it should.
          const holder = await this.#read(`/v1/agents/${this.id}`);
          const entry = `${this.#o.name} ${kind} ${task.id} attempt ${task.attempt}: 409, task now ${JSON.stringify(t)}`;
          if (holder.status === 404) ledger.removedHolding.push(entry);
          else ledger.refused.push(`${entry}, agent ${holder.status}`);
        }
        return;
      }
      this.#note(`${kind} ${task.id}`, a);
      if (!transient(a) || Date.now() > giveUpAt) return;
      await sleep(25);
    }
  }
}
