/** A record as a script answers it: the values of `RECORD_FIELDS`, in order. */
export type RecordReply = readonly (string | null)[];

/** One held lease: its token, and the record its lease answered. */
interface Held {
  readonly token: string;
  readonly reply: RecordReply;
}

/**
 * The records this process leased and has not settled yet, by id, at most `max` (the oldest
 * go first). A complete of a held lease need not read the record back from the server, only
 * check the lease: the record is the one the lease answered, with the fields the complete
 * writes. Another process's complete of the same task finds nothing here and reads it all.
 * The replies are kept undecoded, so nothing the caller does to its records shows through.
 */
export class HeldLeases {
  private readonly held = new Map<string, Held>();

  constructor(private readonly max: number) {}

  /** Remembers a leased record (replacing an earlier lease of the same id). */
  hold(id: string, token: string, reply: RecordReply): void {
    this.held.delete(id);
    if (this.held.size >= this.max) {
      this.held.delete(this.held.keys().next().value as string);
    }
    this.held.set(id, { token, reply });
  }

  /** The held record of `id` under `leaseToken`, forgotten; `undefined` when not held. */
  take(id: string, leaseToken: string): RecordReply | undefined {
    const held = this.held.get(id);
    if (held === undefined) return undefined;
    this.held.delete(id);
    return held.token === leaseToken ? held.reply : undefined;
  }

  /** Forgets `id` (its lease ended or changed some other way). */
  drop(id: string): void {
    this.held.delete(id);
  }
}
