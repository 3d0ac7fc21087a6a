import type { TaskListFilters } from '@switchboard/client';
import type { TaskView } from '@switchboard/core';
import { EXIT, explain, type OpsContext, OpsError } from './connection.js';
import { ago, brief, printFields, printJson, printTable, when } from './output.js';

/** `switchboard tasks`: a page of tasks, newest first, as a table or the page's JSON. */
export async function listTasks(ctx: OpsContext, filters: TaskListFilters): Promise<number> {
  const page = await ctx.client.listTasks(filters);
  if (ctx.out.json) {
    printJson(ctx.out, page);
    return EXIT.ok;
  }
  printTable(
    ctx.out,
    ['ID', 'CAPABILITY', 'STATUS', 'PRIORITY', 'ATTEMPTS', 'AGENT', 'AGE'],
    page.tasks.map((t) => [
      t.id,
      t.capability,
      t.status,
      t.priority,
      `${t.attempts}/${t.maxAttempts}`,
      t.agentId ?? '-',
      ago(t.createdAt),
    ]),
    'no tasks',
  );
  if (page.nextCursor !== undefined) {
    ctx.out.line(`more: switchboard tasks --cursor ${page.nextCursor} (with the same filters)`);
  }
  return EXIT.ok;
}

/** `switchboard task <id>`: one task, every field. */
export async function showTask(ctx: OpsContext, id: string): Promise<number> {
  const task = await ctx.client.getTask(id);
  if (ctx.out.json) printJson(ctx.out, task);
  else printTask(ctx, task);
  return EXIT.ok;
}

function printTask(ctx: OpsContext, t: TaskView): void {
  const fields: [string, string][] = [
    ['id', t.id],
    ['capability', t.capability],
    ['status', t.status],
    ['priority', t.priority],
    ['attempts', `${t.attempts} of ${t.maxAttempts}`],
  ];
  if (t.agentId !== undefined) fields.push(['agent', t.agentId]);
  if (t.idempotencyKey !== undefined) fields.push(['idempotency key', t.idempotencyKey]);
  if (t.sessionKey !== undefined) fields.push(['session key', t.sessionKey]);
  fields.push(['created', when(t.createdAt)], ['updated', when(t.updatedAt)]);
  if (t.error !== undefined) {
    const code = t.error.code === undefined ? '' : ` (${t.error.code})`;
    fields.push(['error', `${t.error.message}${code}`]);
  }
  if (t.result !== undefined) fields.push(['result', brief(t.result, 200)]);
  printFields(ctx.out, fields);
}

/**
 * `switchboard cancel <id…>`: cancels each task. One that cannot be cancelled (unknown,
 * already terminal) is reported and the others still go; the exit code is then 1.
 */
export async function cancelTasks(ctx: OpsContext, ids: readonly string[]): Promise<number> {
  const cancelled: TaskView[] = [];
  const failed = await eachId(ctx, ids, async (id) => {
    cancelled.push(await ctx.client.cancel(id));
    if (!ctx.out.json) ctx.out.line(`cancelled ${id}`);
  });
  if (ctx.out.json) printJson(ctx.out, { cancelled, failed });
  return failed.length === 0 ? EXIT.ok : EXIT.refused;
}

/**
 * Runs `step` for each id. A refusal by the server is kept (and printed to stderr) and the
 * next id goes on; an unreachable server ends the whole command.
 */
export async function eachId(
  ctx: OpsContext,
  ids: readonly string[],
  step: (id: string) => Promise<void>,
): Promise<{ id: string; error: string }[]> {
  const failed: { id: string; error: string }[] = [];
  for (const id of ids) {
    try {
      await step(id);
    } catch (err) {
      const why = explain(err, ctx.target);
      if (why.exitCode !== EXIT.refused) throw why;
      failed.push({ id, error: why.message });
      ctx.out.error(`switchboard: ${id}: ${why.message}`);
    }
  }
  return failed;
}

/** The options of `switchboard submit`. */
export interface SubmitOptions {
  priority?: 'critical' | 'high' | 'normal' | 'low';
  key?: string;
  wait?: boolean;
}

// One result long-poll waits this long; `--wait` polls again until the task ends.
const WAIT_MS = 30_000;

/**
 * `switchboard submit <capability> [payload-json]`: queues a task; with `--wait`, waits
 * until it ends and prints it, exiting 1 unless it completed.
 */
export async function submitTask(
  ctx: OpsContext,
  capability: string,
  payloadText: string | undefined,
  options: SubmitOptions,
): Promise<number> {
  let payload: unknown;
  if (payloadText !== undefined) {
    try {
      payload = JSON.parse(payloadText);
    } catch (err) {
      throw new OpsError(`payload-json: not JSON (${(err as Error).message})`, EXIT.usage);
    }
  }
  const accepted = await ctx.client.submit({
    capability,
    ...(payloadText === undefined ? {} : { payload }),
    ...(options.priority === undefined ? {} : { priority: options.priority }),
    ...(options.key === undefined ? {} : { idempotencyKey: options.key }),
  });
  if (options.wait !== true) {
    if (ctx.out.json) printJson(ctx.out, accepted);
    else ctx.out.line(`submitted ${accepted.id} (${accepted.status})`);
    return EXIT.ok;
  }
  let task = await ctx.client.result(accepted.id, WAIT_MS);
  while (task.status === 'queued' || task.status === 'leased') {
    task = await ctx.client.result(accepted.id, WAIT_MS);
  }
  if (ctx.out.json) printJson(ctx.out, task);
  else printTask(ctx, task);
  if (task.status === 'completed') return EXIT.ok;
  ctx.out.error(`switchboard: task ${task.id} ended ${task.status}`);
  return EXIT.refused;
}
