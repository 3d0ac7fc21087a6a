import type { ServerState } from './http.js';

/**
 * Where a server stands, shared by the app (`/readyz`, 503 for new work) and whoever starts
 * and stops it (the CLI). Starts in `starting` unless told otherwise.
 *
 * @example
 * ```ts
 * const lifecycle = new Lifecycle()
 * const app = createApp(sb, { lifecycle })
 * await sb.start(); lifecycle.ready()
 * process.on('SIGTERM', () => lifecycle.drain())
 * ```
 */
export class Lifecycle {
  #state: ServerState;
  readonly #onDrain = new Set<() => void>();

  constructor(initial: ServerState = 'starting') {
    this.#state = initial;
  }

  /** The current state. */
  get state(): ServerState {
    return this.#state;
  }

  /** Accepting work (after the engine started). Has no effect once draining. */
  ready(): void {
    if (this.#state === 'starting') this.#state = 'ready';
  }

  /** Refuses new work from now on and tells listeners (event streams close). Idempotent. */
  drain(): void {
    if (this.#state === 'draining') return;
    this.#state = 'draining';
    for (const listener of this.#onDrain) listener();
  }

  /** Calls `listener` when draining starts. */
  onDrain(listener: () => void): void {
    this.#onDrain.add(listener);
  }
}
