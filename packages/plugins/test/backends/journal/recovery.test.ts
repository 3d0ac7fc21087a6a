import { appendFileSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLeaseToken, isSwitchboardError } from '@switchboard/core';
import {
  createJournalBackend,
  FrameCodec,
  type JournalBackendOptions,
  type JournalWarning,
} from '@switchboard/plugins/journal';
import { afterAll, describe, expect, it } from 'vitest';
import { T0, task, tempDirs } from './helpers.js';

const dirs = tempDirs();
afterAll(() => dirs.cleanup());

const logOf = (dir: string) => join(dir, readdirSync(dir).find((n) => n.startsWith('log-'))!);

async function open(dir: string, over: Partial<JournalBackendOptions> = {}) {
  const warnings: JournalWarning[] = [];
  const backend = createJournalBackend({ dir, onWarning: (w) => warnings.push(w), ...over });
  await backend.open();
  return { backend, warnings };
}

describe('journal replay', () => {
  it('restores queued, leased (ended as expired), completed, dead, cancelled and keys', async () => {
    const dir = dirs.make();
    const { backend } = await open(dir);
    const q1 = task({ priority: 'low', idempotencyKey: 'k-q1' });
    const q2 = task({ priority: 'low' });
    const held = task({ priority: 'critical', maxAttempts: 2 });
    const last = task({ priority: 'critical', maxAttempts: 1 });
    const done = task({ priority: 'critical', idempotencyKey: 'k-done' });
    const poison = task({ priority: 'high', maxAttempts: 1 });
    const gone = task({ priority: 'high' });
    const later = task({ availableAt: T0 + 5000 });
    await backend.enqueue([q1, q2, held, last, done, poison, gone, later]);
    // Leases of the process's own handlers: taken with a process-only token.
    const own = { capability: 'cap', agentId: 'a', token: createLeaseToken() };
    const [h, l, d] = await backend.lease({ ...own, max: 3, now: T0 });
    await backend.complete(d!.id, d!.leaseToken!, { answer: 42 }, T0 + 1);
    const [p] = await backend.lease({ ...own, max: 1, now: T0 + 2 });
    await backend.fail(
      p!.id,
      p!.leaseToken!,
      { message: 'poison' },
      { retry: true, availableAt: 0 },
      T0 + 3,
    );
    await backend.cancel(gone.id, T0 + 4);
    const before = new Map<string, unknown>();
    for (const t of [q1, q2, done, poison, gone, later])
      before.set(t.id, structuredClone(await backend.get(t.id)));
    await backend.close();

    const reopenedAt = Date.now();
    const { backend: again, warnings } = await open(dir);
    expect(warnings).toEqual([]);
    for (const [id, record] of before) expect(await again.get(id)).toEqual(record);
    // The leases died with the process and end as expired leases do: the attempt counts, so
    // a task with attempts left is queued again, and one on its last attempt is dead.
    const lost = { message: 'lease lost: the process stopped while the task ran', code: 'expired' };
    expect([h!.id, l!.id]).toEqual([held.id, last.id]);
    expect(await again.get(held.id)).toMatchObject({ status: 'queued', attempts: 1, error: lost });
    expect(await again.get(last.id)).toMatchObject({ status: 'dead', attempts: 1, error: lost });
    // It became dead at the restart: retained (`retainMs`) from then, not from its lease.
    expect((await again.get(last.id))?.updatedAt).toBeGreaterThanOrEqual(reopenedAt);
    expect((await again.get(held.id))?.updatedAt).toBe(T0);
    expect((await again.get(held.id))?.leaseToken).toBeUndefined();
    expect(await again.stats()).toEqual({
      depth: 4,
      byPriority: { critical: 1, high: 0, normal: 1, low: 2 },
      leased: 0,
      delayed: 1,
      dead: 2,
    });
    expect((await again.deadLetters()).map((t) => t.id)).toEqual([poison.id, last.id]);
    const dup = await again.enqueue([
      task({ idempotencyKey: 'k-done' }),
      task({ idempotencyKey: 'k-q1' }),
    ]);
    expect(dup.map((r) => [r.created, r.task.id])).toEqual([
      [false, done.id],
      [false, q1.id],
    ]);
    const order = await again.lease({ capability: 'cap', agentId: 'b', max: 10, now: T0 + 5000 });
    expect(order.map((t) => t.id)).toEqual([held.id, later.id, q1.id, q2.id]);
    expect(order[0]).toMatchObject({ attempts: 2, agentId: 'b' });
    await again.close();
  });

  it('keeps a lost lease ended across restarts, and lease tokens from before it conflict', async () => {
    const dir = dirs.make();
    const { backend } = await open(dir);
    const t = task({ maxAttempts: 2 });
    await backend.enqueue([t]);
    const own = { capability: 'cap', max: 1, token: createLeaseToken() };
    const [leased] = await backend.lease({ ...own, agentId: 'a', now: T0 });
    await backend.close();
    const { backend: second } = await open(dir);
    await expect(second.complete(t.id, leased!.leaseToken!, 1, T0 + 1)).rejects.toMatchObject({
      code: 'conflict',
    });
    const [again] = await second.lease({ ...own, agentId: 'b', now: T0 + 2 });
    expect(again).toMatchObject({ id: t.id, attempts: 2 });
    await second.close();
    // Its second lease dies too: that was its last attempt, so it is dead, and stays so.
    const { backend: third } = await open(dir);
    expect(await third.get(t.id)).toMatchObject({ status: 'dead', attempts: 2 });
    await third.close();
    const { backend: fourth } = await open(dir);
    expect((await fourth.deadLetters()).map((d) => d.id)).toEqual([t.id]);
    expect(await fourth.stats()).toMatchObject({ depth: 0, leased: 0, dead: 1 });
    await fourth.close();
  });

  it("replays an earlier version's recover frame as it meant: requeued, attempt not counted", async () => {
    const dir = dirs.make();
    const { backend } = await open(dir);
    const t = task({ maxAttempts: 1 });
    await backend.enqueue([t]);
    const [leased] = await backend.lease({ capability: 'cap', agentId: 'a', max: 1, now: T0 });
    expect(leased).toMatchObject({ id: t.id, attempts: 1 });
    await backend.close();
    // Such a journal was closed by a process that had recovered the lease with the old rule
    // (no `status` in the frame): the task is queued again, back to attempt 0.
    const old = new FrameCodec().encode({ op: 'recover', ids: [t.id], attempts: [0], now: T0 });
    appendFileSync(logOf(dir), old);
    const { backend: again, warnings } = await open(dir);
    expect(warnings).toEqual([]);
    expect(await again.get(t.id)).toMatchObject({ status: 'queued', attempts: 0 });
    expect(await again.stats()).toMatchObject({ depth: 1, dead: 0 });
    await again.close();
  });

  it('replays dead-letter replays and deletions, extensions and releases', async () => {
    const dir = dirs.make();
    const { backend } = await open(dir);
    const [a, b, c] = [
      task({ maxAttempts: 1 }),
      task({ maxAttempts: 1 }),
      task({ timeoutMs: 100 }),
    ];
    await backend.enqueue([a, b, c]);
    const own = { capability: 'cap', agentId: 'x', token: createLeaseToken() };
    const leased = await backend.lease({ ...own, max: 3, now: T0 });
    const no = { retry: false, availableAt: T0 };
    await backend.fail(a.id, leased[0]!.leaseToken!, { message: 'e' }, no, T0);
    await backend.fail(b.id, leased[1]!.leaseToken!, { message: 'e' }, no, T0);
    await backend.replay(a.id, T0 + 1);
    await backend.deleteDeadLetter(b.id);
    await backend.extend(c.id, leased[2]!.leaseToken!, 10_000, T0 + 2);
    expect(await backend.expireLeases(T0 + 200)).toEqual([]);
    const [ra] = await backend.lease({ capability: 'cap', agentId: 'x', max: 1, now: T0 + 3 });
    await backend.release([{ id: a.id, leaseToken: ra!.leaseToken! }], { message: 'left' }, T0 + 4);
    const expected = [structuredClone(await backend.get(a.id)), await backend.get(b.id)];
    await backend.close();
    const { backend: again } = await open(dir);
    expect([await again.get(a.id), await again.get(b.id)]).toEqual(expected);
    expect(await again.get(c.id)).toMatchObject({ status: 'queued', attempts: 1 });
    expect((await again.deadLetters()).map((t) => t.id)).toEqual([a.id]);
    await again.close();
  });
});

describe('journal recovery from damaged logs', () => {
  /** A journal of 5 enqueue frames; returns the log bytes and where the last frame starts. */
  async function journal() {
    const dir = dirs.make();
    const { backend } = await open(dir);
    const tasks = Array.from({ length: 5 }, () => task());
    let lastStart = 0;
    for (const t of tasks) {
      lastStart = statSync(logOf(dir)).size;
      await backend.enqueue([t]);
    }
    await backend.close();
    return { dir, bytes: readFileSync(logOf(dir)), lastStart, tasks };
  }

  it('cuts a torn tail at every byte offset of the last frame and keeps the rest', async () => {
    const { dir, bytes, lastStart, tasks } = await journal();
    for (let cut = lastStart + 1; cut < bytes.length; cut++) {
      writeFileSync(logOf(dir), bytes.subarray(0, cut));
      const { backend, warnings } = await open(dir);
      expect(warnings).toEqual([
        expect.objectContaining({ code: 'torn_tail', offset: lastStart, bytes: cut - lastStart }),
      ]);
      expect((await backend.stats()).depth).toBe(4);
      expect(await backend.get(tasks[4]!.id)).toBeUndefined();
      await backend.close();
      expect(statSync(logOf(dir)).size).toBe(lastStart);
    }
  });

  it('truncates a last frame with a flipped bit, and appends after it cleanly', async () => {
    const { dir, bytes, lastStart, tasks } = await journal();
    const bad = Uint8Array.from(bytes);
    bad[bytes.length - 3]! ^= 0x04;
    writeFileSync(logOf(dir), bad);
    const { backend, warnings } = await open(dir);
    expect(warnings).toMatchObject([{ code: 'torn_tail', offset: lastStart }]);
    expect(warnings[0]!.message).toContain('bad checksum');
    const extra = task();
    await backend.enqueue([extra]);
    await backend.close();
    const { backend: again, warnings: none } = await open(dir);
    expect(none).toEqual([]);
    expect(await again.get(extra.id)).toBeDefined();
    expect(await again.get(tasks[4]!.id)).toBeUndefined();
    await again.close();
  });

  it('reports a corrupted middle frame with its offset instead of skipping it', async () => {
    const { dir, bytes, tasks } = await journal();
    const second = frameStarts(bytes)[1]!;
    const bad = Uint8Array.from(bytes);
    bad[second + 20]! ^= 0x01;
    writeFileSync(logOf(dir), bad);
    const backend = createJournalBackend({ dir, onWarning: () => {} });
    const err = await backend.open().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isSwitchboardError(err, 'internal')).toBe(true);
    expect(err).toMatchObject({
      details: { offset: second, resumesAt: frameStarts(bytes)[2], reason: 'bad checksum' },
    });
    expect((err as Error).message).toContain(`offset ${second}`);
    await backend.close();
    // Nothing was cut: the operator decides.
    expect(statSync(logOf(dir)).size).toBe(bytes.length);

    const { backend: repaired, warnings } = await open(dir, { repair: 'truncate' });
    expect(warnings).toMatchObject([{ code: 'repaired', offset: second }]);
    expect((await repaired.stats()).depth).toBe(1);
    expect(await repaired.get(tasks[0]!.id)).toBeDefined();
    await repaired.close();
    expect(statSync(logOf(dir)).size).toBe(second);
  });

  it('fails open on a snapshot that is cut short', async () => {
    const dir = dirs.make();
    const { backend } = await open(dir, { compactAfterBytes: 1024 });
    for (let i = 0; i < 40; i++) await backend.enqueue([task({ payload: 'x'.repeat(40) })]);
    await backend.close();
    const snapshot = join(dir, readdirSync(dir).find((n) => n.startsWith('snapshot-'))!);
    const bytes = readFileSync(snapshot);
    writeFileSync(snapshot, bytes.subarray(0, bytes.length - 5));
    const broken = createJournalBackend({ dir });
    await expect(broken.open()).rejects.toMatchObject({
      code: 'internal',
      details: { file: snapshot },
    });
    await broken.close();
  });
});

function frameStarts(bytes: Uint8Array): number[] {
  const starts: number[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 0; at < bytes.length; at += 8 + view.getUint32(at, true)) starts.push(at);
  return starts;
}
