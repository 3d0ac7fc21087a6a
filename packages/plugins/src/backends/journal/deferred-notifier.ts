/**
 * `onAvailable` notifications held back until the caller says: the memory backend tells of
 * a capability during its operation, and the journal passes it on once that operation's
 * frame is in the log, so a listener that leases at once cannot get its lease frame ahead
 * of the frame that made the task available.
 */
export class DeferredNotifier {
  private readonly listeners = new Set<(capability: string) => void>();
  private readonly pending = new Set<string>();

  /** Records that `capability` has tasks available (to tell at the next {@link flush}). */
  readonly note = (capability: string): void => {
    this.pending.add(capability);
  };

  /** Adds a listener; returns the function that removes it. */
  listen(listener: (capability: string) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Tells every listener of every capability noted since the last flush. */
  flush(): void {
    if (this.pending.size === 0) return;
    const capabilities = [...this.pending];
    this.pending.clear();
    for (const capability of capabilities) {
      for (const listener of this.listeners) {
        try {
          listener(capability);
        } catch {
          // The change is committed; a failing listener must not fail the caller's call.
        }
      }
    }
  }
}
