/** One call waiting in a {@link CallBatcher}. */
interface Pending<I, R> {
  input: I;
  resolve: (reply: R) => void;
  reject: (err: unknown) => void;
}

/**
 * Gathers the calls made while the event loop turns once into batches of at most `max`, and
 * runs each batch as one call. The hot path completes tasks one by one, many at a time; one
 * script for many completes costs the server one dispatch instead of many. `run` answers one
 * reply per input, in order; if it throws, every call of the batch rejects with that error.
 */
export class CallBatcher<I, R> {
  private pending: Pending<I, R>[] = [];
  private scheduled = false;

  constructor(
    private readonly run: (inputs: I[]) => Promise<R[]>,
    private readonly max: number,
  ) {}

  /** Queues `input` for the next batch; resolves with its own reply. */
  add(input: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.pending.push({ input, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        // setImmediate rather than a microtask: calls issued from several I/O callbacks of
        // the same turn (replies arriving together) join one batch.
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const all = this.pending;
    this.pending = [];
    for (let i = 0; i < all.length; i += this.max) {
      const batch = all.slice(i, i + this.max);
      this.run(batch.map((p) => p.input)).then(
        (replies) => {
          for (let k = 0; k < batch.length; k++) batch[k]?.resolve(replies[k] as R);
        },
        (err: unknown) => {
          for (const p of batch) p.reject(err);
        },
      );
    }
  }
}
