import { describe, expect, it, vi } from 'vitest';
import {
  idCounter,
  mintedHere,
  nextTaskId,
  ownId,
  reserveTaskIds,
  TASK_ID_PREFIX_LENGTH,
  taskIdAt,
} from '../../src/model/task-id.js';

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

describe('the prefix', () => {
  it('is drawn with the first id, not when the module loads (Workers refuse random values then)', async () => {
    vi.resetModules();
    const spy = vi.spyOn(crypto, 'getRandomValues');
    try {
      const fresh = await import('../../src/model/task-id.js');
      expect(spy).not.toHaveBeenCalled();
      // Before it is drawn, no id is this process's, whatever its characters.
      const foreign = `${'a'.repeat(21)}-0`;
      expect(fresh.mintedHere(foreign)).toBe(false);
      expect(fresh.ownId(foreign)).toBe(false);
      const id = fresh.nextTaskId();
      expect(spy).toHaveBeenCalledTimes(1);
      expect(fresh.mintedHere(id)).toBe(true);
      expect(fresh.ownId(id)).toBe(true);
      expect(fresh.mintedHere(foreign)).toBe(false);
    } finally {
      spy.mockRestore();
    }
  });
});

describe('reserveTaskIds and taskIdAt', () => {
  it('reserve a run of counters that taskIdAt spells as nextTaskId would have', () => {
    const before = idCounter(nextTaskId());
    const first = reserveTaskIds(3_000);
    expect(first).toBe(before + 1);
    // After the reservation, nextTaskId goes on past it (across a change of the high digits).
    const after = nextTaskId();
    expect(idCounter(after)).toBe(first + 3_000);
    const ids = Array.from({ length: 3_000 }, (_, k) => taskIdAt(first + k));
    expect(new Set(ids).size).toBe(3_000);
    for (const [k, id] of ids.entries()) {
      expect(id.slice(0, TASK_ID_PREFIX_LENGTH)).toBe(after.slice(0, TASK_ID_PREFIX_LENGTH));
      expect(idCounter(id)).toBe(first + k);
      expect(mintedHere(id)).toBe(true);
    }
    // The first ids have no leading zero, as nextTaskId's first ids have none.
    expect(taskIdAt(5).slice(TASK_ID_PREFIX_LENGTH)).toBe('5');
    expect(taskIdAt(36 * 36).slice(TASK_ID_PREFIX_LENGTH)).toBe('100');
    expect(taskIdAt(36 * 36 + 1).slice(TASK_ID_PREFIX_LENGTH)).toBe('101');
  });

  it('tell ids minted here from others by the whole prefix', () => {
    const id = nextTaskId();
    const twin = `${id.slice(0, 5)}${id[5] === 'a' ? 'b' : 'a'}${id.slice(6)}`;
    expect(mintedHere(id)).toBe(true);
    expect(mintedHere(twin)).toBe(false);
    expect(mintedHere(id.slice(0, TASK_ID_PREFIX_LENGTH))).toBe(false);
    expect(mintedHere('t1')).toBe(false);
  });
});

describe('idCounter and ownId', () => {
  it('read back the counter of ids minted here, past the 1,296 ids of two digits', () => {
    const ids = Array.from({ length: 3_000 }, () => nextTaskId());
    for (const id of ids) {
      expect(idCounter(id)).toBe(Number.parseInt(id.slice(TASK_ID_PREFIX_LENGTH), 36));
      expect(ownId(id)).toBe(true);
    }
    for (let i = 1; i < ids.length; i++)
      expect(idCounter(ids[i]!)).toBe(idCounter(ids[i - 1]!) + 1);
  });

  it('read any prefix, and answer -1 for strings not spelled as ids', () => {
    const id = nextTaskId();
    const prefix = id.slice(0, TASK_ID_PREFIX_LENGTH);
    const other = `${'z'.repeat(TASK_ID_PREFIX_LENGTH - 1)}-`;
    expect(idCounter(`${other}zz`)).toBe(36 * 36 - 1);
    expect(idCounter(`${prefix}0`)).toBe(0);
    // Past five digits the counter is read in doubles, up to Number.MAX_SAFE_INTEGER.
    expect(idCounter(`${prefix}zzzzz`)).toBe(36 ** 5 - 1);
    expect(idCounter(`${prefix}zzzzzz`)).toBe(36 ** 6 - 1);
    expect(idCounter(`${prefix}${Number.MAX_SAFE_INTEGER.toString(36)}`)).toBe(
      Number.MAX_SAFE_INTEGER,
    );
    expect(idCounter(`${prefix}${'z'.repeat(11)}`)).toBe(-1);
    for (const bad of [
      prefix,
      `${prefix}1A`,
      `${prefix}1-`,
      `${prefix}${'1'.repeat(12)}`,
      `${prefix.slice(0, -1)}_1`,
      'order-42',
      '',
    ]) {
      expect(idCounter(bad)).toBe(-1);
    }
    // Four characters of the prefix are compared: a prefix that differs in all of them is
    // foreign (one that differs elsewhere only may pass; the index compares whole ids).
    const flipped = [...prefix].map((c) => (c === 'a' ? 'b' : 'a')).join('');
    expect(ownId(`${flipped}1`)).toBe(false);
  });
});
