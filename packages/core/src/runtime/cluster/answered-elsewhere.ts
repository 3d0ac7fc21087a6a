import type { TaskLease, TaskRecord } from '../../model/task.js';
import type { Engine } from '../engine.js';

/**
 * Passes on the answer to a lease (`done`) and, on a backend shared by several processes,
 * tells the others when the lease was not held here: the agent may have reached this process
 * instead of the one that handed the lease out, which then lets the lease go (a completion
 * or failure) or moves its expiry (an extension).
 */
export function tellHolder<T extends TaskRecord | TaskLease>(
  engine: Pick<Engine, 'backend' | 'book' | 'link'>,
  done: Promise<T>,
  id: string,
  token: string,
): Promise<T> {
  if (engine.backend.cluster === undefined) return done;
  // Read now, before the answer detaches the lease from this process's book.
  const heldHere = engine.book.inflight.get(id)?.token === token;
  return done.then((answer) => {
    if (!heldHere) {
      const expiresAt = 'status' in answer ? undefined : answer.leaseExpiresAt;
      engine.link?.lease(expiresAt === undefined ? { id, token } : { id, token, expiresAt });
    }
    return answer;
  });
}
