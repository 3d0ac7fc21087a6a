import { SwitchboardError } from '../errors.js';
import type { Priority } from '../model/priority.js';

/** How a node whose dependencies all completed is turned into its task's payload. */
export type NodePayload = (
  /** The results of the node's dependencies, by node id. */
  deps: Record<string, unknown>,
  /** Under `partialFailure: 'continue'`: the dependencies that failed, by node id. */
  failed: Record<string, NodeError>,
) => unknown;

/** Why a node has no result: the error's message and its `SwitchboardError` code. */
export interface NodeError {
  readonly message: string;
  readonly code: string;
}

/** One task of a DAG and the nodes whose results it needs. */
export interface DagNode {
  readonly capability: string;
  /** Ids of nodes that must complete first; their results feed {@link DagNode.payload}. */
  readonly dependsOn?: readonly string[];
  /**
   * Builds the payload from the dependencies' results. Without it a node with dependencies
   * gets the `deps` record itself, and a node without any gets no payload.
   */
  readonly payload?: NodePayload;
  readonly priority?: Priority;
  /** One attempt's length; lowered to the time left when the run has a deadline. */
  readonly timeoutMs?: number;
  readonly maxAttempts?: number;
  readonly idempotencyKey?: string;
  readonly sessionKey?: string;
  readonly metadata?: Record<string, unknown>;
}

/** A DAG of tasks: nodes by id. */
export interface DagSpec {
  readonly nodes: Readonly<Record<string, DagNode>>;
}

/** A validated DAG: node ids in a topological order and the edges both ways. */
export interface DagPlan {
  /** Every node id, each after all of its dependencies. */
  readonly order: readonly string[];
  readonly nodes: ReadonlyMap<string, DagNode>;
  /** Distinct dependencies of each node. */
  readonly deps: ReadonlyMap<string, readonly string[]>;
  /** The nodes that depend on each node. */
  readonly dependents: ReadonlyMap<string, readonly string[]>;
}

function invalid(message: string, details: unknown): SwitchboardError {
  return new SwitchboardError('invalid_request', message, { details });
}

function checkNode(id: string, node: unknown): DagNode {
  if (node === null || typeof node !== 'object') {
    throw invalid(`DAG node "${id}": expected an object`, { node: id });
  }
  const n = node as DagNode;
  if (typeof n.capability !== 'string' || n.capability === '') {
    throw invalid(`DAG node "${id}": capability must be a non-empty string`, { node: id });
  }
  if (n.payload !== undefined && typeof n.payload !== 'function') {
    throw invalid(`DAG node "${id}": payload must be a function of the dependencies' results`, {
      node: id,
    });
  }
  if (
    n.dependsOn !== undefined &&
    (!Array.isArray(n.dependsOn) || n.dependsOn.some((d) => typeof d !== 'string'))
  ) {
    throw invalid(`DAG node "${id}": dependsOn must be an array of node ids`, { node: id });
  }
  return n;
}

/**
 * Checks a DAG and orders it (Kahn's algorithm, declaration order among ready nodes), so
 * that nothing is submitted from a graph that could never finish.
 *
 * @throws SwitchboardError `invalid_request` for a malformed node, a dependency on an
 * unknown node, or a cycle; a cycle is named in the flow direction (`a → b → a`: a feeds
 * b, b feeds a) and listed in `details.cycle`.
 * @example
 * ```ts
 * planDag({ nodes: { a: { capability: 'x' }, b: { capability: 'y', dependsOn: ['a'] } } }).order
 * // ['a', 'b']
 * ```
 */
export function planDag(spec: DagSpec): DagPlan {
  if (
    spec === null ||
    typeof spec !== 'object' ||
    spec.nodes === null ||
    typeof spec.nodes !== 'object'
  ) {
    throw invalid('DAG: expected { nodes: { [id]: node } }', undefined);
  }
  const nodes = new Map<string, DagNode>();
  for (const [id, node] of Object.entries(spec.nodes)) nodes.set(id, checkNode(id, node));
  const deps = new Map<string, readonly string[]>();
  const dependents = new Map<string, string[]>();
  for (const id of nodes.keys()) dependents.set(id, []);
  for (const [id, node] of nodes) {
    const own = [...new Set(node.dependsOn ?? [])];
    for (const dep of own) {
      if (!nodes.has(dep)) {
        throw invalid(`DAG node "${id}" depends on unknown node "${dep}"`, {
          node: id,
          dependency: dep,
        });
      }
      (dependents.get(dep) as string[]).push(id);
    }
    deps.set(id, own);
  }
  const waiting = new Map<string, number>();
  const ready: string[] = [];
  for (const [id, own] of deps) {
    waiting.set(id, own.length);
    if (own.length === 0) ready.push(id);
  }
  const order: string[] = [];
  for (let i = 0; i < ready.length; i++) {
    const id = ready[i] as string;
    order.push(id);
    for (const next of dependents.get(id) as string[]) {
      const left = (waiting.get(next) as number) - 1;
      waiting.set(next, left);
      if (left === 0) ready.push(next);
    }
  }
  if (order.length < nodes.size) {
    const cycle = findCycle(deps, waiting);
    throw invalid(`DAG has a cycle: ${cycle.join(' → ')}`, { cycle });
  }
  return { order, nodes, deps, dependents };
}

/**
 * A cycle among the nodes Kahn's algorithm could not order. Every such node still waits on
 * another such node, so walking "a dependency still waiting" from any of them must revisit
 * one: the walk from that node on is a cycle (in dependency direction, reversed here).
 */
function findCycle(
  deps: ReadonlyMap<string, readonly string[]>,
  waiting: ReadonlyMap<string, number>,
): string[] {
  const stuck = (id: string) => (waiting.get(id) as number) > 0;
  const start = [...waiting.keys()].find(stuck) as string;
  const path: string[] = [];
  const at = new Map<string, number>();
  let id = start;
  while (!at.has(id)) {
    at.set(id, path.length);
    path.push(id);
    id = (deps.get(id) as readonly string[]).find(stuck) as string;
  }
  const loop = path.slice(at.get(id)).reverse();
  // Start at the node declared first, so that the same graph always names the same cycle.
  const declared = [...waiting.keys()];
  const first = loop.reduce(
    (best, n, i) => (declared.indexOf(n) < declared.indexOf(loop[best] as string) ? i : best),
    0,
  );
  const rotated = [...loop.slice(first), ...loop.slice(0, first)];
  return [...rotated, rotated[0] as string];
}

/** Every node reachable from `id` through dependents (the nodes that need its result). */
export function downstreamOf(plan: DagPlan, id: string): string[] {
  const seen = new Set<string>();
  const stack = [...(plan.dependents.get(id) ?? [])];
  while (stack.length > 0) {
    const next = stack.pop() as string;
    if (seen.has(next)) continue;
    seen.add(next);
    stack.push(...(plan.dependents.get(next) ?? []));
  }
  return [...seen];
}
