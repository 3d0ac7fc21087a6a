import type { TaskColumns } from '../backend/task-columns.js';
import { reserveTaskIds } from '../backend/task-id.js';
import { priorityLevel } from '../messaging/priority.js';
import type { Engine } from './engine.js';
import { isPlainTask, type SubmitInput, type TaskDefaults } from './task-input.js';

/**
 * A batch as columns for `Backend.enqueueColumns`, when it can go that way: the backend
 * takes columns, nothing watches each task as it is queued (the `task.queued` event, a
 * submit rate limit, a payload size limit), the capability has the default assignment
 * policy, and every input is a plain task of that one capability (see `isPlainTask`). Its
 * ids are reserved here. `undefined` otherwise: the batch then goes as records.
 */
export function plainColumns(
  engine: Engine,
  inputs: readonly SubmitInput[],
  defaults: TaskDefaults,
  limited: boolean,
): TaskColumns | undefined {
  if (engine.backend.enqueueColumns === undefined || limited) return undefined;
  if (!Array.isArray(inputs) || inputs.length === 0 || engine.listens('task.queued')) {
    return undefined;
  }
  const capability = (inputs[0] as SubmitInput | null)?.capability;
  const policy = typeof capability === 'string' ? engine.policies.get(capability) : undefined;
  if (policy !== undefined && policy !== 'queued') return undefined;
  const n = inputs.length;
  const payloads: unknown[] = new Array(n);
  const levels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const input = inputs[i] as SubmitInput;
    if (input === null || typeof input !== 'object' || input.capability !== capability) {
      return undefined;
    }
    if (!isPlainTask(input)) return undefined;
    payloads[i] = input.payload;
    levels[i] = priorityLevel(input.priority ?? 'normal') as number;
  }
  return {
    first: reserveTaskIds(n),
    capability: capability as string,
    payloads,
    levels,
    maxAttempts: defaults.maxAttempts,
    timeoutMs: defaults.timeoutMs,
    now: engine.now(),
  };
}
