import { type MemoryBackend, SwitchboardError, type TaskRecord } from '@switchboard/core';

// Live tasks are enqueued in batches of this many: one `enqueue` call each.
const BATCH = 4096;

/**
 * Loads recovered records into an empty memory backend, in their order, through its public
 * API: the memory backend keeps the record objects it is given and returns them live, so a
 * record is taken through the transitions that end where it stands (enqueue, lease, then
 * complete or fail, or an extend to its expiry for a lease kept for a remote agent;
 * enqueue, cancel) and its fields are then set back to the recovered ones. Terminal and
 * leased records go first, each alone in its queue so that the lease takes it; then the
 * queued ones, in order, which rebuilds FIFO within each priority (and within each fairness
 * key). Fairness caps are lifted meanwhile: a lease kept across the restart is restored even
 * when its key is over a cap lowered since.
 */
export async function restoreInto(
  memory: MemoryBackend,
  records: Iterable<TaskRecord>,
): Promise<void> {
  const restoreCaps = memory.fairness.liftCaps();
  try {
    const queued: TaskRecord[] = [];
    for (const t of records) {
      if (t.status === 'queued') queued.push(t);
      else await restoreAlone(memory, t);
    }
    for (let i = 0; i < queued.length; i += BATCH) {
      const results = await memory.enqueue(queued.slice(i, i + BATCH));
      for (const r of results) if (!r.created) throw diverged(r.task.id);
    }
  } finally {
    restoreCaps();
  }
}

async function restoreAlone(memory: MemoryBackend, t: TaskRecord): Promise<void> {
  const image = { ...t };
  const endedAt = t.updatedAt;
  // Available at once (availableAt ≤ updatedAt) and leasable at instant 0.
  Object.assign(t, { status: 'queued', attempts: 0, availableAt: 0, updatedAt: 0 });
  const [result] = await memory.enqueue([t]);
  if (result?.task !== t) throw diverged(t.id);
  if (image.status === 'cancelled') {
    await memory.cancel(t.id, endedAt);
  } else {
    // A kept lease keeps its token: its agent completes it with the one it holds.
    const token = image.status === 'leased' ? image.leaseToken : undefined;
    const request = { capability: t.capability, agentId: '', max: 1, now: 0 };
    const [leased] = await memory.lease(token === undefined ? request : { ...request, token });
    if (leased !== t || t.leaseToken === undefined) throw diverged(t.id);
    if (image.status === 'leased') {
      // From instant 0, `leaseExpiresAt` ms is the lease's own expiry.
      await memory.extend(t.id, t.leaseToken, Math.max(1, image.leaseExpiresAt ?? 1), 0);
    } else if (image.status === 'completed') {
      await memory.complete(t.id, t.leaseToken, image.result, endedAt);
    } else if (image.status === 'dead') {
      const error = image.error ?? { message: 'dead' };
      await memory.fail(t.id, t.leaseToken, error, { retry: false, availableAt: 0 }, endedAt);
    } else {
      throw diverged(t.id);
    }
  }
  // Back to the recovered fields, on the object the memory backend holds.
  for (const key of Object.keys(t)) {
    if (!(key in image)) delete (t as unknown as Record<string, unknown>)[key];
  }
  Object.assign(t, image);
}

function diverged(id: string): SwitchboardError {
  return new SwitchboardError('internal', `[journal] cannot restore task ${id}`, {
    details: { id },
  });
}
