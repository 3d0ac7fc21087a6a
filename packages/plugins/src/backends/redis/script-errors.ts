import { SwitchboardError, type TaskRecord } from '@switchboard/core';
import type { ScriptName } from './lua-scripts.js';
import { isOutage, outage, replyOf } from './redis-client.js';

/** What an error is about: a task id, or the records of an enqueue. */
export type ErrorSubject = string | readonly TaskRecord[] | undefined;

/** The `SwitchboardError` of a script's failure. */
export function scriptError(
  name: ScriptName,
  err: unknown,
  subject: ErrorSubject,
): SwitchboardError {
  if (isOutage(err)) return outage(name, err);
  const reply = replyOf(err);
  if (reply === undefined) {
    return err instanceof SwitchboardError
      ? err
      : new SwitchboardError('internal', `[redis] ${name} failed`, { cause: err });
  }
  return errorOf(name, reply.code, reply.text, subject);
}

/** The `SwitchboardError` of a script's answer `<code> <text>`. */
export function errorOf(
  name: ScriptName,
  code: string,
  text: string,
  subject: ErrorSubject,
): SwitchboardError {
  if (code === 'NOTFOUND') {
    return new SwitchboardError('not_found', `[redis] ${text}`, { details: { id: subject } });
  }
  if (code === 'CONFLICT' && Array.isArray(subject)) {
    const index = Number(text.split(' ')[1]);
    const id = (subject[index] as TaskRecord | undefined)?.id;
    return new SwitchboardError('conflict', `[redis] task ${id} already exists`, {
      details: { index, id },
    });
  }
  if (code === 'CONFLICT' || code === 'ENDED') {
    const status = text;
    const message =
      status === 'stale'
        ? `[redis] stale or foreign lease token for ${subject}`
        : `[redis] task ${subject} is ${status === 'queued' ? 'not leased' : status}`;
    return new SwitchboardError('conflict', message, {
      details: { id: subject, status, ...(code === 'ENDED' ? { ended: true } : {}) },
    });
  }
  return new SwitchboardError('internal', `[redis] ${name}: ${code} ${text}`);
}
