import type { Priority } from './priority.js';

/** The kinds of message the broker carries. */
export const MESSAGE_TYPES = ['task', 'result', 'event', 'heartbeat', 'error', 'control'] as const;

/** A message kind: `task`, `result`, `event`, `heartbeat`, `error` or `control`. */
export type MessageType = (typeof MESSAGE_TYPES)[number];

/**
 * The envelope of every message. A message goes to one `recipient` (an agent id), or to a
 * `topic` (dot-separated, e.g. `task.completed`), or to everyone (`broadcast`).
 */
export interface Message<P = unknown> {
  /** Unique id (UUID). */
  id: string;
  type: MessageType;
  priority: Priority;
  /** Who sent it (an agent id, a submitter id, `system`). */
  sender: string;
  /** The agent this message is for (direct delivery). */
  recipient?: string;
  /** The topic this message is published to (topic delivery). */
  topic?: string;
  /** Delivered to every registered endpoint. */
  broadcast?: boolean;
  /** Ties a reply to its request. */
  correlationId?: string;
  /** Where a reply should go. */
  replyTo?: string;
  payload: P;
  /** When it was created (epoch ms). */
  createdAt: number;
  /** Time to live in ms from `createdAt`; an expired message is dead-lettered, not dropped. */
  ttlMs?: number;
  /** How many times it has been delivered so far. */
  attempts: number;
  /** Free-form string headers. */
  headers?: Record<string, string>;
}
