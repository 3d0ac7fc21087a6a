interface Entry<V> {
  readonly key: string;
  value: V;
  /** Towards the most recently used. */
  newer: Entry<V> | undefined;
  /** Towards the least recently used. */
  older: Entry<V> | undefined;
}

/** A map that holds at most `max` keys and forgets the least recently used first. */
export interface LruMap<V> {
  /** The value of `key`, which becomes the most recently used. */
  get(key: string): V | undefined;
  /** The value of `key`, leaving the order as it is. */
  peek(key: string): V | undefined;
  /** Sets `key` as the most recently used, evicting the least recently used when full. */
  set(key: string, value: V): void;
  delete(key: string): void;
  /** Keys and values, in no particular order; deleting while iterating is safe. */
  entries(): IterableIterator<[string, V]>;
  readonly size: number;
}

/**
 * An LRU map: a `Map` for lookup plus a doubly linked list for order, so that every
 * operation is O(1). (Re-inserting into a plain `Map` to track recency is O(1) too, but
 * evicting its oldest key through `keys().next()` walks over every deleted slot V8 has not
 * compacted yet, which made eviction slow once the map was full.)
 */
export function lruMap<V>(max: number): LruMap<V> {
  const map = new Map<string, Entry<V>>();
  let newest: Entry<V> | undefined;
  let oldest: Entry<V> | undefined;

  const unlink = (entry: Entry<V>): void => {
    if (entry.newer) entry.newer.older = entry.older;
    else newest = entry.older;
    if (entry.older) entry.older.newer = entry.newer;
    else oldest = entry.newer;
    entry.newer = undefined;
    entry.older = undefined;
  };

  const pushNewest = (entry: Entry<V>): void => {
    entry.older = newest;
    if (newest) newest.newer = entry;
    newest = entry;
    oldest ??= entry;
  };

  const get = (key: string): V | undefined => {
    const entry = map.get(key);
    if (entry === undefined) return undefined;
    if (entry !== newest) {
      unlink(entry);
      pushNewest(entry);
    }
    return entry.value;
  };

  const remove = (key: string): void => {
    const entry = map.get(key);
    if (entry === undefined) return;
    map.delete(key);
    unlink(entry);
  };

  return {
    get,
    peek: (key) => map.get(key)?.value,
    set(key, value) {
      const existing = map.get(key);
      if (existing !== undefined) {
        existing.value = value;
        get(key);
        return;
      }
      const entry: Entry<V> = { key, value, newer: undefined, older: undefined };
      map.set(key, entry);
      pushNewest(entry);
      if (map.size > max && oldest !== undefined) remove(oldest.key);
    },
    delete: remove,
    *entries() {
      for (const [key, entry] of map) yield [key, entry.value];
    },
    get size() {
      return map.size;
    },
  };
}
