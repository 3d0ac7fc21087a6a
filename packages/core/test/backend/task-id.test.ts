import { describe, expect, it } from 'vitest';
import { nextTaskId, TASK_ID_PREFIX_LENGTH, taskSeq } from '../../src/backend/task-id.js';

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

describe('taskSeq', () => {
  it('reads back the counter of ids minted here', () => {
    const a = nextTaskId();
    const b = nextTaskId();
    expect(taskSeq(a)).toBe(Number.parseInt(a.slice(TASK_ID_PREFIX_LENGTH), 36));
    expect(taskSeq(b)).toBe(taskSeq(a) + 1);
  });

  it('answers -1 for any other spelling, so two distinct ids never share a counter', () => {
    const id = nextTaskId();
    const prefix = id.slice(0, TASK_ID_PREFIX_LENGTH);
    const other = `${id[0] === 'a' ? 'b' : 'a'}${id.slice(1)}`;
    for (const bad of [
      other,
      prefix,
      `${prefix}00`,
      `${prefix}01`,
      `${prefix}1A`,
      `${prefix}1-`,
      `${prefix}${'z'.repeat(11)}`,
      `${prefix}${'1'.repeat(12)}`,
      'order-42',
      '',
    ]) {
      expect(taskSeq(bad)).toBe(-1);
    }
    expect(taskSeq(`${prefix}0`)).toBe(0);
    expect(taskSeq(`${prefix}zz`)).toBe(36 * 36 - 1);
  });
});
