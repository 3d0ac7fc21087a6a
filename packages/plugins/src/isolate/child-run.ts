import type { TaskContext, TaskHandle } from '@switchboard/core';
import { type Channel, type ChannelOptions, openChannel } from './channel.js';
import type { Ask, FromChild, Setup, ToChild, WireError } from './wire.js';

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

/** An error of this side as it crosses to the child. */
function toWire(thrown: unknown): WireError {
  if (!(thrown instanceof Error)) return { name: 'Error', message: String(thrown) };
  const { code, retryable } = thrown as { code?: unknown; retryable?: unknown };
  return {
    name: thrown.name,
    message: thrown.message,
    ...(typeof code === 'string' ? { code } : {}),
    ...(typeof retryable === 'boolean' ? { retryable } : {}),
  };
}

/** The context of a handler run by a Switchboard, which may submit child tasks. */
interface SpawningContext extends TaskContext {
  spawn?(input: unknown): Promise<TaskHandle>;
}

/** A task sent to a child, waiting for its answer. */
export interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  /** The task's context on this side, which the child's progress and child tasks go through. */
  readonly ctx: SpawningContext;
  /** The tasks its handler submitted, by the call that submitted them. */
  handles?: Map<number, TaskHandle>;
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

  constructor(
    options: Omit<ChannelOptions, 'label'>,
    setup: Setup,
    timeoutMs: number,
    events: RunEvents,
  ) {
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
    this.#channel = openChannel(
      { ...options, label: setup.name },
      {
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
      },
    );
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
      case 'report':
        this.#report(message.id, message.kind, message.value);
        return;
      case 'ask':
        this.#answer(message.call, this.#ask(message.id, message.call, message));
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

  /**
   * A task's progress or partial output, given to its context here. A value the context
   * refuses (too large) fails the task, as the throw at the call would in-process, and the
   * handler still running in the child is aborted.
   */
  #report(id: number, kind: 'progress' | 'stream', value: unknown): void {
    const pending = this.inflight.get(id);
    if (pending === undefined) return;
    try {
      pending.ctx[kind](value);
    } catch (thrown) {
      this.inflight.delete(id);
      pending.reject(thrown as Error);
      try {
        this.#channel.send({ t: 'abort', id, reason: (thrown as Error).message });
      } catch {
        // The child is gone: nothing is left to abort.
      }
    }
  }

  /** What a handler in the child asked through its context: a child task, or its result. */
  async #ask(id: number, call: number, question: Ask): Promise<unknown> {
    const pending = this.inflight.get(id);
    if (pending === undefined) throw new Error(`task ${id} of this child has ended`);
    if (question.op === 'spawn') {
      const ctx = pending.ctx;
      if (typeof ctx.spawn !== 'function') {
        throw new Error('spawn: this agent runs outside a Switchboard, which alone submits tasks');
      }
      const handle = await ctx.spawn(question.input);
      pending.handles ??= new Map();
      pending.handles.set(call, handle);
      return { id: handle.id, created: handle.created };
    }
    const handle = pending.handles?.get(question.ref);
    if (handle === undefined) throw new Error(`no task submitted by call ${question.ref}`);
    return question.op === 'result' ? handle.result : handle.cancel();
  }

  /** Sends the answer of `call` once it settles, an error when it cannot cross. */
  #answer(call: number, answer: Promise<unknown>): void {
    const send = (message: ToChild) => {
      try {
        this.#channel.send(message);
        return true;
      } catch {
        return false;
      }
    };
    answer.then(
      (value) => {
        if (send({ t: 'answer', call, ok: true, value })) return;
        const error = new Error('the answer cannot be copied to the child');
        send({ t: 'answer', call, ok: false, error: toWire(error) });
      },
      (thrown: unknown) => send({ t: 'answer', call, ok: false, error: toWire(thrown) }),
    );
  }
}
