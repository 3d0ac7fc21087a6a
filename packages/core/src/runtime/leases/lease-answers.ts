import { SwitchboardError, taskNotFound } from '../../errors.js';
import { type TaskError, type TaskLease, type TaskRecord, toLease } from '../../model/task.js';
import { MAX_TIMEOUT_MS } from '../../protocol/schemas/task-schema.js';
import type { Engine } from '../engine.js';
import { retryDecision } from './backoff.js';

/** The roles the answers to remote leases uses, so that it can be built and tested with just these. */
export type LeaseAnswerRoles = Pick<
  Engine,
  'backend' | 'backoff' | 'book' | 'dispatcher' | 'now' | 'random'
>;

// The answers of whoever holds a lease (a remote agent over HTTP, usually): each goes to
// the backend, which rejects stale tokens, then updates what this Switchboard holds.

/** Completes a lease (any holder's, remote or not). @throws `conflict` for a stale token. */
export async function completeLease(
  engine: LeaseAnswerRoles,
  id: string,
  token: string,
  result: unknown,
): Promise<TaskRecord> {
  const entry = engine.book.inflight.get(id);
  const record = await engine.backend.complete(id, token, result, engine.now());
  const mine = entry !== undefined && entry.token === token ? entry : undefined;
  if (mine !== undefined) engine.book.detach(mine);
  engine.book.completed(record, mine);
  if (mine?.member !== undefined) engine.dispatcher.freed(mine.member);
  return { ...record };
}

/**
 * Fails a lease: another attempt after a backoff while attempts remain and `retryable`
 * (the default), else the task is dead. @throws `conflict` for a stale token.
 */
export async function failLease(
  engine: LeaseAnswerRoles,
  id: string,
  token: string,
  input: { message: string; retryable?: boolean },
): Promise<TaskRecord> {
  if (input === null || typeof input !== 'object' || typeof input.message !== 'string') {
    throw new SwitchboardError('invalid_request', 'error.message: required', {
      details: [{ path: 'error.message', message: 'required' }],
    });
  }
  const error: TaskError = { message: input.message, retryable: input.retryable !== false };
  const entry = engine.book.inflight.get(id);
  if (entry !== undefined && entry.token === token) {
    const record = await engine.book.fail(entry, error);
    if (entry.member !== undefined) engine.dispatcher.freed(entry.member);
    return { ...record };
  }
  const current = await engine.backend.get(id);
  if (current === undefined) throw taskNotFound(id);
  const now = engine.now();
  const { retry, availableAt } = retryDecision(
    engine.backoff,
    error,
    current.attempts,
    current.maxAttempts,
    now,
    engine.random,
  );
  const record = await engine.backend.fail(id, token, error, { retry, availableAt }, now);
  engine.book.failed(record, undefined, error);
  if (retry) engine.dispatcher.wakeAt(availableAt);
  return { ...record };
}

/** Moves a lease's expiry to `ms` from now. @throws `conflict` for a stale token. */
export async function extendLease(
  engine: LeaseAnswerRoles,
  id: string,
  token: string,
  ms: number,
): Promise<TaskLease> {
  if (!Number.isInteger(ms) || ms < 1 || ms > MAX_TIMEOUT_MS) {
    throw new SwitchboardError(
      'invalid_request',
      `ms: must be an integer in 1..${MAX_TIMEOUT_MS}`,
      {
        details: [{ path: 'ms', message: `must be an integer in 1..${MAX_TIMEOUT_MS}` }],
      },
    );
  }
  const record = await engine.backend.extend(id, token, ms, engine.now());
  const entry = engine.book.inflight.get(id);
  if (entry !== undefined && entry.token === token)
    entry.expiresAt = record.leaseExpiresAt ?? entry.expiresAt;
  return toLease(record);
}
