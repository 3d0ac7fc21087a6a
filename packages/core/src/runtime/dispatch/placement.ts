import { priorityLevel } from '../../model/priority.js';
import type { Engine } from '../engine.js';
import type { InFlight, PoolMember } from '../pool/pool-member.js';
import type { AssignmentPolicy } from '../submit/task-input.js';

/** The roles placement uses, so that it can be built and tested with just these. */
export type PlacementRoles = Pick<Engine, 'policies' | 'taskPolicies'>;

// Which agents a leased task may go to: the dispatcher's rules, apart from its pumping.

/** The level of the least urgent priority: an agent that takes it sheds nothing. */
const MAX_LEVEL = priorityLevel('low');

/**
 * True when every task of `capability` may go to every candidate: no task has a policy of
 * its own, the capability's policy picks no kind of agent, no candidate sheds a priority,
 * and none is remote (then a batch skips {@link eligible} for each of its tasks).
 */
export function openToAll(
  engine: PlacementRoles,
  all: readonly PoolMember[],
  capability: string | undefined,
): boolean {
  if (engine.taskPolicies.size > 0 || capability === undefined) return false;
  const policy = engine.policies.get(capability);
  if (policy === 'delegated' || policy === 'consolidated') return false;
  for (const member of all) if (member.minPriorityLevel < MAX_LEVEL || member.remote) return false;
  return true;
}

/**
 * The candidates a task may go to under its policy and the agents' degraded modes (and
 * in-process ones only for a shared token).
 */
export function eligible(
  engine: PlacementRoles,
  entry: InFlight,
  all: readonly PoolMember[],
): readonly PoolMember[] {
  const task = entry.task;
  const local = entry.shared;
  const policy: AssignmentPolicy | undefined =
    (engine.taskPolicies.size > 0 ? engine.taskPolicies.get(task.id) : undefined) ??
    engine.policies.get(task.capability);
  const level = priorityLevel(task.priority);
  let filtered = false;
  for (const member of all) {
    if (member.minPriorityLevel < level || (local && member.remote)) filtered = true;
  }
  if (!filtered && policy !== 'delegated' && policy !== 'consolidated') return all;
  return all.filter(
    (m) =>
      m.minPriorityLevel >= level &&
      !(local && m.remote) &&
      (policy !== 'delegated' || m.role === 'coordinator') &&
      (policy !== 'consolidated' || m.batchMax > 1),
  );
}

/** True when there are candidates and every one runs in process. */
export function allInProcess(candidates: readonly PoolMember[]): boolean {
  for (const member of candidates) if (member.remote) return false;
  return candidates.length > 0;
}

/** The free slots of the candidates together. */
export function freeSlots(candidates: readonly PoolMember[]): number {
  let free = 0;
  for (const member of candidates) free += member.freeSlots;
  return free;
}
