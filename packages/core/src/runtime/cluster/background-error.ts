import type { Engine } from '../engine.js';

/** The roles background error reporting uses, so that it can be built and tested with just these. */
export type BackgroundRoles = Pick<Engine, 'onError' | 'running'>;

/**
 * Reports an error of the cluster's background work (directory writes, refreshes, wake-ups)
 * to `onError`, unless this Switchboard is shutting down: then the backend may already be
 * closed, and what fails is work nobody waits for any more.
 */
export function backgroundError(engine: BackgroundRoles, error: unknown): void {
  if (engine.running) engine.onError(error);
}
