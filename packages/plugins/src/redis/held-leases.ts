import { RECORD_FIELDS } from './record-codec.js';

/** A record as a script answers it: the values of {@link RECORD_FIELDS}, in order. */
export type RecordReply = readonly (string | null)[];

const ID = RECORD_FIELDS.indexOf('id');
const TOKEN = RECORD_FIELDS.indexOf('leaseToken');

/**
 * The records this process leased and has not settled yet, by id, at most `max` (the oldest
 * go first). A complete of a held lease need not read the record back from the server, only
 * check the lease: the record is the one the lease answered, with the fields the complete
 * writes. Another process's complete of the same task finds nothing here and reads it all.
 * The replies are kept undecoded, so nothing the caller does to its records shows through.
 */
export class HeldLeases {
  private readonly replies = new Map<string, RecordReply>();

  constructor(private readonly max: number) {}

  /** Remembers leased records (replacing an earlier lease of the same id). */
  hold(replies: readonly RecordReply[]): void {
    for (const values of replies) {
      const id = values[ID];
      if (id === null || id === undefined) continue;
      this.replies.delete(id);
      if (this.replies.size >= this.max) {
        this.replies.delete(this.replies.keys().next().value as string);
      }
      this.replies.set(id, values);
    }
  }

  /** The held record of `id` under `leaseToken`, forgotten; `undefined` when not held. */
  take(id: string, leaseToken: string): RecordReply | undefined {
    const values = this.replies.get(id);
    if (values === undefined) return undefined;
    this.replies.delete(id);
    return values[TOKEN] === leaseToken ? values : undefined;
  }

  /** Forgets `id` (its lease ended or changed some other way). */
  drop(id: string): void {
    this.replies.delete(id);
  }
}
