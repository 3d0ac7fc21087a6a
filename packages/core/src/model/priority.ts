import { SwitchboardError } from '../errors.js';

/** The four named priorities of a task or message, most urgent first. */
export const PRIORITIES = ['critical', 'high', 'normal', 'low'] as const;

/** A named priority: `critical`, `high`, `normal` (the default) or `low`. */
export type Priority = (typeof PRIORITIES)[number];

/**
 * A numeric priority level: an integer 0..255, where 0 is the most urgent. The named
 * priorities are levels 0..3. Levels fit in a `Uint8Array`, so batches can cross into
 * native code as typed arrays.
 */
export type PriorityLevel = number;

/** The highest level a queue accepts. */
export const MAX_PRIORITY_LEVEL = 255;

/**
 * The numeric level of a named priority (`critical` → 0 … `low` → 3), `undefined` for any
 * other value (`'toString'` too: no object lookup, so no inherited key passes). A `switch`
 * of four string compares also costs less than a keyed lookup, which four different names
 * turn megamorphic on the enqueue and lease paths.
 */
export function priorityLevel(priority: Priority): PriorityLevel;
export function priorityLevel(priority: string): PriorityLevel | undefined;
export function priorityLevel(priority: string): PriorityLevel | undefined {
  switch (priority) {
    case 'critical':
      return 0;
    case 'high':
      return 1;
    case 'normal':
      return 2;
    case 'low':
      return 3;
    default:
      return undefined;
  }
}

/** The named priority of levels 0..3; levels above 3 are `low`. */
export function priorityName(level: PriorityLevel): Priority {
  return PRIORITIES[Math.min(level, 3)] ?? 'low';
}

/** True for an integer level 0..255, the levels a priority queue accepts. */
export function isPriorityLevel(level: unknown): level is PriorityLevel {
  return typeof level === 'number' && level >>> 0 === level && level <= MAX_PRIORITY_LEVEL;
}

/** The `invalid_request` error of a level out of range (`index` within a batch). */
export function invalidPriorityLevel(level: unknown, index?: number): SwitchboardError {
  const where = index === undefined ? '' : ` at index ${index}`;
  return new SwitchboardError(
    'invalid_request',
    `priority${where} must be an integer 0..${MAX_PRIORITY_LEVEL}, got ${String(level)}`,
    { details: index === undefined ? { priority: level } : { index, priority: level } },
  );
}
