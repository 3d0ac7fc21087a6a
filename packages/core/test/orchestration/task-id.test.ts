import { describe, expect, it } from 'vitest';
import { nextTaskId, TASK_ID_PREFIX_LENGTH } from '../../src/orchestration/task-id.js';

describe('nextTaskId', () => {
  it('makes distinct ids that share a random fixed-length prefix and count in base36', () => {
    const ids = Array.from({ length: 5_000 }, () => nextTaskId());
    expect(new Set(ids).size).toBe(ids.length);
    const prefix = ids[0]!.slice(0, TASK_ID_PREFIX_LENGTH);
    expect(prefix).toMatch(/^[0-9a-z]{21}-$/);
    for (const id of ids) expect(id.startsWith(prefix)).toBe(true);
    const counters = ids.map((id) => Number.parseInt(id.slice(TASK_ID_PREFIX_LENGTH), 36));
    for (let i = 1; i < counters.length; i++) expect(counters[i]).toBe(counters[i - 1]! + 1);
  });
});
