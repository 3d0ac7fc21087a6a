/** Called with an error a listener threw, and the event it was handling. */
export type ListenerErrorHandler<E> = (error: unknown, event: E) => void;

/**
 * A set of listeners where one that throws never stops the others nor the caller: the
 * state change that emitted the event has already happened, and an observer's bug must
 * not undo or block it. Errors go to `onError` when given, and are counted.
 */
export class Listeners<E> {
  private readonly set = new Set<(event: E) => void>();
  private errors = 0;

  constructor(private readonly onError?: ListenerErrorHandler<E>) {}

  /** Listener errors so far. */
  get errorCount(): number {
    return this.errors;
  }

  /** The number of listeners. */
  get size(): number {
    return this.set.size;
  }

  /** Adds `listener`; the returned function removes it. */
  add(listener: (event: E) => void): () => void {
    // Wrapped so that adding the same function twice yields two independent subscriptions.
    const entry = (event: E) => listener(event);
    this.set.add(entry);
    return () => {
      this.set.delete(entry);
    };
  }

  /** Calls every listener with `event`. */
  emit(event: E): void {
    for (const listener of this.set) {
      try {
        listener(event);
      } catch (error) {
        this.errors++;
        try {
          this.onError?.(error, event);
        } catch {
          // The error hook itself failed: nothing left to report to; the count records it.
        }
      }
    }
  }
}
