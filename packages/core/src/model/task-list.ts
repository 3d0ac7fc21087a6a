import { SwitchboardError } from '../errors.js';
import type { TaskRecord, TaskStatus } from './task.js';

/** The most tasks one page of a task listing holds. */
export const MAX_TASK_PAGE = 1000;
/** The page size of a task listing that names none. */
export const DEFAULT_TASK_PAGE = 50;

/**
 * A query of a task listing ({@link Backend.listTasks}, `Switchboard.listTasks`,
 * `GET /v1/tasks`): every filter given must match.
 */
export interface TaskListQuery {
  status?: TaskStatus;
  capability?: string;
  /** The task submitted with this key (at most one task has it). */
  idempotencyKey?: string;
  /** At most this many tasks, 1 … {@link MAX_TASK_PAGE}. */
  limit: number;
  /** Where the previous page ended: its {@link TaskPage.nextCursor}. */
  cursor?: string;
}

/**
 * One page of a task listing, newest first: by `createdAt`, latest first, and tasks created
 * in the same millisecond by id, the greater first (ids compared as strings). `nextCursor` is
 * there when more tasks may follow; a page can be shorter than its `limit` and still carry
 * one (a backend bounds the work of one call), so a reader follows it until it is absent.
 */
export interface TaskPage {
  tasks: TaskRecord[];
  nextCursor?: string;
}

/** The position a cursor stands for: the last task a page looked at. */
export interface TaskCursor {
  createdAt: number;
  id: string;
}

/**
 * Encodes a listing position as an opaque, URL-safe string (base64url of `createdAt:id`).
 *
 * @example
 * ```ts
 * const cursor = encodeTaskCursor({ createdAt: task.createdAt, id: task.id })
 * decodeTaskCursor(cursor) // { createdAt, id }
 * ```
 */
export function encodeTaskCursor(at: TaskCursor): string {
  const bytes = new TextEncoder().encode(`${at.createdAt}:${at.id}`);
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

const CURSOR_TEXT = /^(\d{1,16}):(.+)$/s;

/**
 * The position of a cursor made by {@link encodeTaskCursor}, or `undefined` for any other
 * string (a cursor is not parsed any further than this, so no cursor can be crafted to make a
 * backend do more than a listing's usual work).
 */
export function decodeTaskCursor(cursor: string): TaskCursor | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) return undefined;
  let text: string;
  try {
    const binary = atob(cursor.replaceAll('-', '+').replaceAll('_', '/'));
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    // Not base64, or not UTF-8 underneath: not one of ours, which the caller reports.
    return undefined;
  }
  const m = CURSOR_TEXT.exec(text);
  if (m === null) return undefined;
  const createdAt = Number(m[1]);
  return Number.isSafeInteger(createdAt) ? { createdAt, id: m[2] as string } : undefined;
}

/**
 * Whether a task created at `createdAt` with id `id` comes after `than` in a listing (it is
 * older, or as old with a lesser id).
 */
export function listedAfter(createdAt: number, id: string, than: TaskCursor): boolean {
  return createdAt < than.createdAt || (createdAt === than.createdAt && id < than.id);
}

/**
 * Checks a listing query as every backend takes it, and answers its cursor decoded.
 * `invalid_request` names the field at fault (`limit`, `cursor`, `status`, …).
 */
export function checkTaskListQuery(query: TaskListQuery, who: string): TaskCursor | undefined {
  const bad = (field: string, message: string) =>
    new SwitchboardError('invalid_request', `${who}${field}: ${message}`, {
      details: { field },
    });
  const { limit, cursor, status, capability, idempotencyKey } = query;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_TASK_PAGE) {
    throw bad('limit', `must be an integer from 1 to ${MAX_TASK_PAGE}`);
  }
  if (status !== undefined && !STATUSES.has(status)) {
    throw bad('status', `must be one of ${[...STATUSES].join(', ')}`);
  }
  if (capability !== undefined && (typeof capability !== 'string' || capability === '')) {
    throw bad('capability', 'must be a non-empty string');
  }
  if (
    idempotencyKey !== undefined &&
    (typeof idempotencyKey !== 'string' || idempotencyKey === '')
  ) {
    throw bad('idempotencyKey', 'must be a non-empty string');
  }
  if (cursor === undefined) return undefined;
  const at = typeof cursor === 'string' ? decodeTaskCursor(cursor) : undefined;
  if (at === undefined) throw bad('cursor', 'not a cursor a task listing answered');
  return at;
}

const STATUSES: ReadonlySet<string> = new Set<TaskStatus>([
  'queued',
  'leased',
  'completed',
  'dead',
  'cancelled',
]);
