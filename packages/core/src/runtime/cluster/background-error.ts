import type { Engine } from '../engine.js';

/**
 * Reports an error of the cluster's background work (directory writes, refreshes, wake-ups)
 * to `onError`, unless this Switchboard is shutting down: then the backend may already be
 * closed, and what fails is work nobody waits for any more.
 */
export function backgroundError(engine: Engine, error: unknown): void {
  if (engine.running) engine.onError(error);
}
