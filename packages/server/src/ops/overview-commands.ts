import type { TaskView } from '@switchboard/core';
import { EXIT, type OpsContext } from './connection.js';
import { ago, printFields, printJson, printTable } from './output.js';
import { eachId } from './task-commands.js';

type Capability = string | { name: string; version?: string };

function capabilityName(c: Capability): string {
  if (typeof c === 'string') return c;
  return c.version === undefined ? c.name : `${c.name}@${c.version}`;
}

/** `switchboard agents`: every agent, in-process and remote, with its state and load. */
export async function listAgents(ctx: OpsContext): Promise<number> {
  const { agents } = await ctx.client.listAgents();
  if (ctx.out.json) {
    printJson(ctx.out, { agents });
    return EXIT.ok;
  }
  printTable(
    ctx.out,
    ['ID', 'NAME', 'STATE', 'LOAD', 'HEARTBEAT', 'CAPABILITIES'],
    agents.map((a) => [
      a.id,
      a.name,
      a.state,
      `${a.activeTasks}/${a.maxConcurrency}`,
      `${ago(a.lastHeartbeatAt)} ago`,
      (a.capabilities as readonly Capability[]).map(capabilityName).join(', '),
    ]),
    'no agents',
  );
  return EXIT.ok;
}

/** `switchboard stats`: agents, queue depth, task counts, throughput and latency. */
export async function showStats(ctx: OpsContext): Promise<number> {
  const stats = await ctx.client.stats();
  if (ctx.out.json) {
    printJson(ctx.out, stats);
    return EXIT.ok;
  }
  const counts = (record: Record<string, number>) =>
    Object.entries(record)
      .map(([name, n]) => `${name} ${n}`)
      .join(', ');
  const { agents, queue, tasks, latencyMs } = stats;
  // Only the states some agent is in: six zeros say nothing.
  const byState = counts(Object.fromEntries(Object.entries(agents.byState).filter(([, n]) => n)));
  printFields(ctx.out, [
    ['agents', `${agents.total} (${agents.busy} busy)${byState === '' ? '' : `: ${byState}`}`],
    ['queued', `${queue.depth}: ${counts(queue.byPriority)}`],
    ['tasks', counts(tasks)],
    ['throughput', `${stats.throughputPerSec.toFixed(1)}/s`],
    ['latency', `p50 ${latencyMs.p50} ms, p99 ${latencyMs.p99} ms`],
  ]);
  return EXIT.ok;
}

/** `switchboard dead-letters`: the dead tasks, oldest first, with their last error. */
export async function listDeadLetters(ctx: OpsContext): Promise<number> {
  const { tasks } = await ctx.client.deadLetters();
  if (ctx.out.json) {
    printJson(ctx.out, { tasks });
    return EXIT.ok;
  }
  printTable(
    ctx.out,
    ['ID', 'CAPABILITY', 'ATTEMPTS', 'DIED', 'ERROR'],
    tasks.map((t: TaskView) => [
      t.id,
      t.capability,
      String(t.attempts),
      `${ago(t.updatedAt)} ago`,
      t.error?.message ?? '-',
    ]),
    'no dead letters',
  );
  return EXIT.ok;
}

/** `switchboard replay <id…>`: queues each dead task again; exit 1 when one could not be. */
export async function replayDeadLetters(ctx: OpsContext, ids: readonly string[]): Promise<number> {
  const replayed: { id: string; status: string }[] = [];
  const failed = await eachId(ctx, ids, async (id) => {
    replayed.push(await ctx.client.replay(id));
    if (!ctx.out.json) ctx.out.line(`replayed ${id}`);
  });
  if (ctx.out.json) printJson(ctx.out, { replayed, failed });
  return failed.length === 0 ? EXIT.ok : EXIT.refused;
}
