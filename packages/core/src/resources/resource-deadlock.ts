/** What the deadlock check sees of one resource. */
export interface QuotaView {
  readonly kind: 'pool' | 'rate';
  readonly capacity: number;
  /** Free now. */
  readonly available: number;
  readonly fair: boolean;
}

/** One waiting request, in queue order. */
export interface WaitView {
  readonly owner: string;
  readonly needs: ReadonlyMap<string, number>;
}

/** One lease held, by its owner (pool slots matter; spent rate quota comes back by time). */
export interface HoldView {
  readonly owner: string;
  readonly amounts: ReadonlyMap<string, number>;
}

/** One edge of a wait-for cycle: `from` waits for `resource`, held or queued for by `to`. */
export interface WaitEdge {
  readonly from: string;
  readonly to: string;
  readonly resource: string;
  readonly how: 'held' | 'queued';
}

/** A wait-for cycle: `owners` starts and ends with the same owner. */
export interface WaitCycle {
  readonly owners: readonly string[];
  readonly edges: readonly WaitEdge[];
}

type Counts = Map<string, number>;

const add = (map: Counts, key: string, n: number) => map.set(key, (map.get(key) ?? 0) + n);

/** Adds `n` of `name` to what `owner` holds. */
function hold(held: Map<string, Counts>, owner: string, name: string, n: number): void {
  const mine = held.get(owner);
  if (mine === undefined) held.set(owner, new Map([[name, n]]));
  else add(mine, name, n);
}

/**
 * Finds owners that can never proceed, and a wait-for cycle among them through `start`
 * when there is one.
 *
 * Multi-unit resources make a plain wait-for graph over-eager (waiting on "any holder of a
 * browser slot" is not waiting on each of them), so this runs the classic reduction: owners
 * that wait for nothing will release what they hold; a waiting owner whose requests the
 * grant rule (FIFO with earmarks on fair resources) can satisfy will finish and release
 * too; rate quotas refill. Whoever is left can only wait on each other: a deadlock. The
 * cycle is then read off the edges among them.
 */
export function findWaitCycle(
  quotas: ReadonlyMap<string, QuotaView>,
  holds: readonly HoldView[],
  waits: readonly WaitView[],
  start: string,
): WaitCycle | undefined {
  const waiting = new Set(waits.map((w) => w.owner));
  const free: Counts = new Map();
  for (const [name, q] of quotas) free.set(name, q.kind === 'rate' ? q.capacity : q.available);
  const held = new Map<string, Counts>();
  for (const h of holds) {
    for (const [name, n] of h.amounts) {
      if (quotas.get(name)?.kind !== 'pool') continue;
      if (waiting.has(h.owner)) {
        hold(held, h.owner, name, n);
      } else {
        add(free, name, n);
      }
    }
  }
  let left = [...waits];
  for (let progress = true; progress && left.length > 0; ) {
    progress = false;
    const earmarked: Counts = new Map();
    const next: WaitView[] = [];
    const granted = new Set<string>();
    for (const w of left) {
      const fits = [...w.needs].every(([name, n]) => {
        const q = quotas.get(name) as QuotaView;
        return (free.get(name) ?? 0) - (q.fair ? (earmarked.get(name) ?? 0) : 0) >= n;
      });
      if (fits) {
        progress = true;
        granted.add(w.owner);
        for (const [name, n] of w.needs) {
          if (quotas.get(name)?.kind !== 'pool') continue;
          add(free, name, -n);
          hold(held, w.owner, name, n);
        }
      } else {
        next.push(w);
        for (const [name, n] of w.needs) add(earmarked, name, n);
      }
    }
    left = next;
    const stillWaiting = new Set(left.map((w) => w.owner));
    for (const owner of granted) {
      if (stillWaiting.has(owner)) continue;
      for (const [name, n] of held.get(owner) ?? []) add(free, name, n);
      held.delete(owner);
    }
  }
  if (left.length === 0) return undefined;
  return readCycle(edgesAmong(quotas, free, held, left), start);
}

function edgesAmong(
  quotas: ReadonlyMap<string, QuotaView>,
  free: Counts,
  held: Map<string, Counts>,
  left: readonly WaitView[],
): Map<string, WaitEdge[]> {
  const out = new Map<string, WaitEdge[]>();
  const earmarked: Counts = new Map();
  const ahead = new Map<string, string[]>();
  for (const w of left) {
    const edges = out.get(w.owner) ?? [];
    out.set(w.owner, edges);
    for (const [name, n] of w.needs) {
      const q = quotas.get(name) as QuotaView;
      const queued = q.fair ? (earmarked.get(name) ?? 0) : 0;
      if ((free.get(name) ?? 0) - queued < n) {
        for (const [owner, mine] of held) {
          if ((mine.get(name) ?? 0) > 0)
            edges.push({ from: w.owner, to: owner, resource: name, how: 'held' });
        }
        if (q.fair) {
          for (const owner of ahead.get(name) ?? []) {
            edges.push({ from: w.owner, to: owner, resource: name, how: 'queued' });
          }
        }
      }
    }
    for (const [name, n] of w.needs) {
      add(earmarked, name, n);
      ahead.set(name, [...(ahead.get(name) ?? []), w.owner]);
    }
  }
  return out;
}

/** A cycle back to `start` if there is one, else the first cycle reachable from it. */
function readCycle(edges: Map<string, WaitEdge[]>, start: string): WaitCycle | undefined {
  const path: WaitEdge[] = [];
  const done = new Set<string>();
  let found: WaitEdge[] | undefined;
  const visit = (owner: string, onPath: Map<string, number>): boolean => {
    onPath.set(owner, path.length);
    for (const edge of edges.get(owner) ?? []) {
      path.push(edge);
      if (edge.to === start) {
        found = [...path];
        return true;
      }
      const at = onPath.get(edge.to);
      if (at !== undefined) {
        found ??= path.slice(at);
      } else if (!done.has(edge.to) && visit(edge.to, onPath)) {
        return true;
      }
      path.pop();
    }
    onPath.delete(owner);
    done.add(owner);
    return false;
  };
  visit(start, new Map());
  if (found === undefined) return undefined;
  const cycle = found;
  return { owners: [cycle[0]!.from, ...cycle.map((e) => e.to)], edges: cycle };
}

/** `a → b → a (a waits for browser held by b; b waits for llm queued for by a)`. */
export function describeCycle(cycle: WaitCycle): string {
  const why = cycle.edges.map(
    (e) =>
      `${e.from} waits for ${e.resource} ${e.how === 'held' ? 'held by' : 'promised first to'} ${e.to}`,
  );
  return `${cycle.owners.join(' → ')} (${why.join('; ')})`;
}
