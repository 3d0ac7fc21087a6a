import { SwitchboardError } from '../errors.js';

/** Whether two answers agree. Should be symmetric; it is called as `compare(held, incoming)`. */
export type Compare<T = unknown> = (a: T, b: T) => boolean;

function sortKeys(_key: string, value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    Object.defineProperty(sorted, key, {
      value: (value as Record<string, unknown>)[key],
      enumerable: true,
      configurable: true,
      writable: true,
    });
  }
  return sorted;
}

/**
 * The JSON text of a value with object keys sorted, so that `{a, b}` and `{b, a}` read the
 * same. `undefined` (which JSON cannot hold) reads as `"undefined"`.
 *
 * @throws TypeError for circular values and BigInts, as `JSON.stringify` does.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, sortKeys) ?? 'undefined';
}

/**
 * The default comparison of a vote: deep equality of the answers as JSON (key order
 * ignored). Values JSON cannot represent (circular, BigInt) agree only when identical.
 */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  try {
    return canonicalJson(a) === canonicalJson(b);
  } catch {
    // Not JSON: nothing deeper to compare than identity, already checked above.
    return false;
  }
}

/** One distinct answer of a vote and the replicas that gave it. */
export interface Answer<T = unknown> {
  readonly value: T;
  readonly count: number;
  /** The replicas (0-based) that answered it, in the order they did. */
  readonly replicas: readonly number[];
}

/**
 * Checks a vote's size: `agents` an integer ≥ 1, `quorum` an integer 1..agents.
 *
 * @throws SwitchboardError `invalid_request` naming the bad figure.
 */
export function checkQuorum(agents: number, quorum: number): void {
  if (!Number.isInteger(agents) || agents < 1) {
    throw new SwitchboardError('invalid_request', 'agents must be an integer ≥ 1', {
      details: { agents },
    });
  }
  if (!Number.isInteger(quorum) || quorum < 1 || quorum > agents) {
    throw new SwitchboardError('invalid_request', `quorum must be an integer 1..${agents}`, {
      details: { agents, quorum },
    });
  }
}

/** The quorum of `agents` when none is given: a strict majority. */
export function majority(agents: number): number {
  return Math.floor(agents / 2) + 1;
}

/**
 * The count of a vote: answers grouped by `compare` as they arrive. Each answer joins the
 * first group whose first answer it agrees with (agreement is not assumed transitive).
 */
export class VoteTally<T = unknown> {
  readonly quorum: number;
  readonly voters: number;
  readonly #compare: Compare<T>;
  readonly #groups: { value: T; replicas: number[] }[] = [];
  #abstained = 0;

  /** @throws SwitchboardError `invalid_request` for a bad `voters`/`quorum`. */
  constructor(voters: number, quorum: number, compare: Compare<T> = jsonEqual) {
    checkQuorum(voters, quorum);
    this.voters = voters;
    this.quorum = quorum;
    this.#compare = compare;
  }

  /**
   * Counts one replica's answer; returns its group once that group reaches the quorum.
   * A `compare` that throws propagates (the vote cannot be counted).
   */
  vote(replica: number, value: T): Answer<T> | undefined {
    let group = this.#groups.find((g) => this.#compare(g.value, value));
    if (group === undefined) {
      group = { value, replicas: [] };
      this.#groups.push(group);
    }
    group.replicas.push(replica);
    return group.replicas.length >= this.quorum ? toAnswer(group) : undefined;
  }

  /** Counts a replica that gave no answer (its task failed). */
  abstain(): void {
    this.#abstained++;
  }

  /** Replicas yet to answer or fail. */
  get outstanding(): number {
    const voted = this.#groups.reduce((n, g) => n + g.replicas.length, 0);
    return this.voters - voted - this.#abstained;
  }

  /** True once no group can reach the quorum even if every outstanding replica joins it. */
  get hopeless(): boolean {
    const best = this.#groups.reduce((n, g) => Math.max(n, g.replicas.length), 0);
    return best + this.outstanding < this.quorum;
  }

  /** The distinct answers so far, most votes first (ties: first answered first). */
  answers(): Answer<T>[] {
    return this.#groups.map(toAnswer).sort((a, b) => b.count - a.count);
  }
}

function toAnswer<T>(group: { value: T; replicas: number[] }): Answer<T> {
  return { value: group.value, count: group.replicas.length, replicas: [...group.replicas] };
}
