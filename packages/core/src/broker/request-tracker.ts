import { SwitchboardError } from '../errors.js';
import type { Message } from '../model/envelope.js';

interface Waiting {
  resolve(value: unknown): void;
  reject(error: unknown): void;
  timer: ReturnType<typeof setTimeout>;
}

/** The broker's requests awaiting a reply, by request message id, each with its timeout. */
export class RequestTracker {
  private readonly waiting = new Map<string, Waiting>();

  /** Waits for the reply to request `id`; rejects with `timeout` after `timeoutMs`. */
  track<R>(id: string, recipient: string, timeoutMs: number): Promise<R> {
    if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
      return Promise.reject(
        new SwitchboardError('invalid_request', `timeoutMs must be a number > 0, got ${timeoutMs}`),
      );
    }
    return new Promise<R>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(
          new SwitchboardError('timeout', `no reply from "${recipient}" within ${timeoutMs} ms`, {
            details: { requestId: id, recipient, timeoutMs },
          }),
        );
      }, timeoutMs);
      this.waiting.set(id, { resolve: resolve as (value: unknown) => void, reject, timer });
    });
  }

  has(id: string): boolean {
    return this.waiting.has(id);
  }

  /** Settles the request `reply` answers, if one awaits it; an `error` reply rejects. */
  settle(reply: Message): boolean {
    const id = reply.correlationId;
    const waiting = id === undefined ? undefined : this.waiting.get(id);
    if (waiting === undefined) return false;
    this.waiting.delete(id!);
    clearTimeout(waiting.timer);
    if (reply.type === 'error') {
      waiting.reject(
        new SwitchboardError('task_failed', `request ${id} failed at "${reply.sender}"`, {
          retryable: false,
          details: reply.payload,
        }),
      );
    } else waiting.resolve(reply.payload);
    return true;
  }

  /** Rejects request `id` with `error` (when sending it failed). */
  fail(id: string, error: unknown): void {
    const waiting = this.waiting.get(id);
    if (waiting === undefined) return;
    this.waiting.delete(id);
    clearTimeout(waiting.timer);
    waiting.reject(error);
  }

  /** Rejects every waiting request with `unavailable` and clears their timers. */
  close(): void {
    for (const [id, waiting] of this.waiting) {
      clearTimeout(waiting.timer);
      waiting.reject(
        new SwitchboardError('unavailable', `the broker closed before request ${id} was answered`),
      );
    }
    this.waiting.clear();
  }
}
