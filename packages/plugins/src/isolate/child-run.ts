import { type Channel, type ChannelOptions, openChannel } from './channel.js';
import type { FromChild, Setup, ToChild, WireError } from './wire.js';

/** An error thrown in the child, rebuilt on this side with its code and retryability. */
function rebuild(error: WireError): Error {
  const out = new Error(error.message);
  out.name = error.name;
  if (error.stack !== undefined) out.stack = error.stack;
  if (error.code !== undefined) Object.assign(out, { code: error.code });
  if (error.retryable !== undefined) Object.assign(out, { retryable: error.retryable });
  return out;
}

/** The longest silence allowed before a child's first beat: the time a runtime may take to boot. */
const BOOT_MS = 10_000;

/** A task sent to a child, waiting for its answer. */
export interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/** What a child run reports to its agent instance. */
export interface RunEvents {
  /** The child ended unasked, or stopped answering (it is being killed). */
  broke(run: ChildRun, why: string, reason: 'crashed' | 'hung'): void;
  /** The child's own init context reported a break. */
  failed(run: ChildRun, error: WireError, reason: 'crashed' | 'hung'): void;
  /** The child ended, whatever ended it (after `broke` when that is why). */
  ended(run: ChildRun): void;
  /** A beat, with the process's resident memory in bytes (0 for a thread). */
  beat(run: ChildRun, rss: number): void;
}

/**
 * One thread or process of an isolated agent, from its start to its end: the tasks sent to
 * it, its heartbeats and the watchdog that kills it when they stop.
 */
export class ChildRun {
  /** Resolves once the agent module is loaded and its init has run; rejects otherwise. */
  readonly ready: Promise<void>;
  readonly inflight = new Map<number, Pending>();
  /** Tasks sent to it so far. */
  taken = 0;
  /** Takes no new task: a newer run does, and this one ends once its tasks are done. */
  retiring = false;
  /** It has ended (its exit was seen). */
  ended = false;
  readonly #channel: Channel;
  readonly #events: RunEvents;
  readonly #watch: ReturnType<typeof setInterval>;
  readonly #health = new Map<number, (report: unknown) => void>();
  readonly #exited: Promise<void>;
  #asked = false;
  #lastBeat = Date.now();
  #beaten = false;
  #started = false;
  #settleReady: { resolve(): void; reject(error: Error): void } | undefined;
  #stopped: (() => void) | undefined;
  #grace: ReturnType<typeof setTimeout> | undefined;
  #healthIds = 0;

  constructor(options: ChannelOptions, setup: Setup, timeoutMs: number, events: RunEvents) {
    this.#events = events;
    this.ready = new Promise<void>((resolve, reject) => {
      this.#settleReady = { resolve, reject };
    });
    // A start that fails is reported by init's rejection, which its caller awaits.
    this.ready.catch(() => undefined);
    let exited!: () => void;
    this.#exited = new Promise<void>((resolve) => {
      exited = resolve;
    });
    this.#channel = openChannel(options, {
      message: (message) => this.#receive(message),
      exit: (why) => {
        this.ended = true;
        clearInterval(this.#watch);
        clearTimeout(this.#grace);
        exited();
        if (!this.#asked) {
          this.#asked = true;
          this.#settleReady?.reject(new Error(why));
          this.#events.broke(this, why, 'crashed');
        }
        this.#events.ended(this);
      },
    });
    this.#watch = setInterval(() => {
      const silence = Date.now() - this.#lastBeat;
      // A runtime booting on a loaded machine may take seconds to its first beat.
      const allowed = this.#beaten ? timeoutMs : Math.max(timeoutMs, BOOT_MS);
      if (silence <= allowed || this.#asked) return;
      this.#asked = true;
      const why = `sent no heartbeat for ${silence} ms (its event loop is blocked)`;
      this.#settleReady?.reject(new Error(why));
      this.#events.broke(this, why, 'hung');
      this.#channel.kill();
    }, setup.beatMs);
    this.#channel.send(setup);
  }

  /** Sends a message; throws when it cannot be cloned. */
  send(message: ToChild): void {
    this.#channel.send(message);
  }

  /** Asks the agent's health check in the child. */
  health(): Promise<unknown> {
    const id = ++this.#healthIds;
    return new Promise((resolve) => {
      this.#health.set(id, resolve);
      this.#channel.send({ t: 'health', id });
    });
  }

  /** Ends it at once, expectedly (the agent failed or stops without grace). */
  kill(): void {
    this.#asked = true;
    this.#channel.kill();
  }

  /** Runs the shutdown hook in the child, then ends it; kills it after `graceMs`. */
  stop(graceMs: number): Promise<void> {
    if (this.ended) return Promise.resolve();
    this.#asked = true;
    if (!this.#started) {
      this.#channel.kill();
      return this.#exited;
    }
    this.#grace ??= setTimeout(() => this.#channel.kill(), graceMs);
    this.#stopped = () => this.#channel.kill();
    try {
      this.#channel.send({ t: 'stop' });
    } catch {
      // The channel closed already: the exit is on its way, and the kill makes sure of it.
      this.#stopped();
    }
    return this.#exited;
  }

  #receive(message: FromChild): void {
    switch (message.t) {
      case 'beat':
        this.#lastBeat = Date.now();
        this.#beaten = true;
        this.#events.beat(this, message.rss);
        return;
      case 'ready':
        this.#started = true;
        this.#settleReady?.resolve();
        return;
      case 'start-failed':
        this.#asked = true;
        this.#settleReady?.reject(new Error(message.error.message));
        this.#channel.kill();
        return;
      case 'done': {
        const pending = this.inflight.get(message.id);
        if (pending === undefined) return;
        this.inflight.delete(message.id);
        if (message.ok) pending.resolve(message.value);
        else pending.reject(rebuild(message.error));
        return;
      }
      case 'health':
        this.#health.get(message.id)?.(message.report);
        this.#health.delete(message.id);
        return;
      case 'fail':
        this.#events.failed(this, message.error, message.reason);
        return;
      case 'stopped':
        this.#stopped?.();
        return;
      case 'crash':
        // The process ends next; its exit reports the crash with this error in it.
        return;
    }
  }
}
