// The client side of the server-level crash test: one HTTP call that never throws, and a
// remote agent loop (plain fetch) that moves between servers when the one it talks to dies.

/** An answer; status 0 when none came (connection refused or reset, timeout, torn body). */
export interface Answer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: answers are checked field by field.
  body: any;
}

/**
 * One request with a deadline (and `signal`, to drop it as a dying process would); a failure
 * to get an answer is status 0, never a throw.
 */
export async function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  timeoutMs = 5_000,
  signal?: AbortSignal,
): Promise<Answer> {
  try {
    const deadline = AbortSignal.timeout(timeoutMs);
    const res = await fetch(base + path, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      signal: signal === undefined ? deadline : AbortSignal.any([deadline, signal]),
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text.length > 0 ? JSON.parse(text) : undefined };
  } catch {
    return { status: 0, body: undefined };
  }
}

/** Whether an answer is what a killed server or a Redis outage may give: retry elsewhere. */
export const transient = (a: Answer) => a.status === 0 || a.status === 503;

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** What the agents share with the test. */
export interface AgentWorld {
  /** The URLs of the servers believed alive right now. */
  live(): string[];
  /** True once the test wants the agents to stop. */
  stopped(): boolean;
  /** Acknowledged completes (200) per task id: a 2 would be a duplicate completion. */
  acked: Map<string, number>;
  /** Answers no client should ever get (a 500, a 404 for a leased task, ...). */
  unexpected: string[];
}

/** Figures of one agent's run. */
export interface AgentRun {
  registrations: number;
  leased: number;
  completed: number;
  /** 409 on complete: the lease had expired and the task went to someone else. */
  lost: number;
}

function pick(world: AgentWorld, avoid?: string): string | undefined {
  const live = world.live();
  const others = live.filter((u) => u !== avoid);
  const from = others.length > 0 ? others : live;
  return from[Math.floor(Math.random() * from.length)];
}

/** An agent that lives and dies with one server (as one on the same host would). */
export interface Companion {
  /** How long it works on a leased batch before completing it. */
  workMs: number;
  /** Tasks it held when it died: never completed by it, to be reclaimed by the others. */
  abandoned: string[];
  /** Tasks in hand right now (leased, not yet completed). */
  holding: string[];
}

/**
 * A remote agent: registers once, long-polls for up to 10 tasks, completes each with a
 * result naming its idempotency key, and carries on through any live server when the one it
 * used stops answering (the registry is shared through Redis). A 404 for the agent (failed
 * for a missed heartbeat) registers it again.
 * A companion also serves `side`, which only companions do (so every batch of tasks puts
 * work in their hands), works a while on each batch and, once `world.stopped()`, drops what
 * it holds.
 */
export async function runAgent(
  world: AgentWorld,
  name: string,
  companion?: Companion,
): Promise<AgentRun> {
  const run: AgentRun = { registrations: 0, leased: 0, completed: 0, lost: 0 };
  const note = (what: string, a: Answer) => {
    if (!transient(a))
      world.unexpected.push(`${name} ${what}: ${a.status} ${JSON.stringify(a.body)}`);
  };
  let id: string | undefined;
  let base = pick(world);

  const complete = async (task: { id: string; leaseToken: string; payload: { key: string } }) => {
    const body = { leaseToken: task.leaseToken, result: { key: task.payload.key, by: name } };
    let at = base;
    // Past this the lease is long gone; the task is someone else's by then.
    const giveUpAt = Date.now() + 10_000;
    while (at !== undefined) {
      const a = await call(at, 'POST', `/v1/tasks/${task.id}/complete`, body);
      if (a.status === 200) {
        world.acked.set(task.id, (world.acked.get(task.id) ?? 0) + 1);
        run.completed++;
        if (a.body?.status !== 'completed' || a.body?.result?.key !== task.payload.key)
          world.unexpected.push(`${name} complete ${task.id} answered ${JSON.stringify(a.body)}`);
        return;
      }
      if (a.status === 409) {
        run.lost++;
        return;
      }
      note(`complete ${task.id}`, a);
      if (!transient(a) || Date.now() > giveUpAt) return;
      at = pick(world, at);
      await sleep(20);
    }
  };

  while (!world.stopped()) {
    if (base === undefined || !world.live().includes(base)) base = pick(world, base);
    if (base === undefined) {
      await sleep(20);
      continue;
    }
    if (id === undefined) {
      const reg = await call(base, 'POST', '/v1/agents', {
        name,
        capabilities: companion === undefined ? ['crash'] : ['crash', 'side'],
        maxConcurrency: 10,
      });
      if (reg.status === 201) {
        id = reg.body.id as string;
        run.registrations++;
      } else {
        note('register', reg);
        base = pick(world, base);
        await sleep(20);
      }
      continue;
    }
    const leased = await call(base, 'POST', `/v1/agents/${id}/lease`, { max: 10, waitMs: 500 });
    if (leased.status === 200) {
      const tasks = leased.body.tasks;
      run.leased += tasks.length;
      if (companion !== undefined) {
        companion.holding = tasks.map((t: { id: string }) => t.id);
        await sleep(companion.workMs);
        if (world.stopped()) {
          companion.abandoned.push(...tasks.map((t: { id: string }) => t.id));
          break;
        }
      }
      await Promise.all(tasks.map(complete));
      if (companion !== undefined) companion.holding = [];
    } else if (leased.status === 404) {
      id = undefined;
    } else {
      note('lease', leased);
      base = pick(world, base);
      await sleep(20);
    }
  }
  return run;
}
