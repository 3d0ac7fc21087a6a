// A Cloudflare Worker that runs tasks on in-process agents of @switchboard/core. Each request
// gets a Switchboard of its own: it fans the request's tasks out to the agents, retries what
// fails retryably, gives up on what outlives its timeout, and answers with every outcome.
// docs/edge.md says how to deploy it and what differs from Node.
//
//   POST / {"tasks": [{"capability": "shout", "payload": {"text": "hi"}}, ...]}
//   → 200 {"outcomes": [{"status": "completed", "result": {...}} | {"status": "failed", "error": {...}}]}
//
// A body that is not such a batch, or names a capability no agent here has, is a 400.
import {
  type AgentDefinition,
  createSwitchboard,
  defineAgent,
  type SubmitInput,
  SwitchboardError,
} from '@switchboard/core';

/** Upper-cases a text. */
const shout = defineAgent({
  name: 'shout',
  capabilities: [{ name: 'shout', version: '1' }],
  config: { maxConcurrency: 4 },
  async handle(payload: { text: string }, ctx) {
    return { text: String(payload.text).toUpperCase(), attempt: ctx.attempt };
  },
});

/** Fails its first `failures` attempts with a retryable error, as a flaky upstream would. */
const flaky = defineAgent({
  name: 'flaky',
  capabilities: [{ name: 'flaky', version: '1' }],
  async handle(payload: { failures: number }, ctx) {
    if (ctx.attempt <= payload.failures) {
      throw new SwitchboardError('agent_failed', `attempt ${ctx.attempt} failed`, {
        retryable: true,
      });
    }
    return { attempt: ctx.attempt };
  },
});

/** Answers after `ms`: a task whose timeoutMs is shorter loses its lease first. */
const slow = defineAgent({
  name: 'slow',
  capabilities: [{ name: 'slow', version: '1' }],
  async handle(payload: { ms: number }, ctx) {
    await new Promise((resolve) => setTimeout(resolve, payload.ms));
    return { waitedMs: payload.ms, attempt: ctx.attempt };
  },
});

const AGENTS: readonly AgentDefinition[] = [shout, flaky, slow];
const CAPABILITIES = ['shout', 'flaky', 'slow'];
const TASK_KEYS = ['capability', 'payload', 'priority', 'timeoutMs', 'maxAttempts'];

/** An outcome of one task, as the response carries it. */
type Outcome =
  | { status: 'completed'; result: unknown }
  | { status: 'failed'; error: { code: string; message: string; last?: string } };

function refuse(message: string): Response {
  return Response.json({ error: { code: 'invalid_request', message } }, { status: 400 });
}

/** The request's tasks, or why they are not a batch this Worker runs. */
function readTasks(body: unknown): SubmitInput[] | string {
  const tasks = (body as { tasks?: unknown } | null)?.tasks;
  if (!Array.isArray(tasks) || tasks.length === 0 || tasks.length > 100) {
    return 'the body must be {"tasks": [...]} with 1 to 100 tasks';
  }
  for (const [i, task] of tasks.entries()) {
    if (typeof task !== 'object' || task === null) return `tasks[${i}] must be an object`;
    const unknown = Object.keys(task).find((key) => !TASK_KEYS.includes(key));
    if (unknown !== undefined) {
      return `tasks[${i}] has an unknown key "${unknown}"; known: ${TASK_KEYS.join(', ')}`;
    }
    const { capability } = task as { capability?: unknown };
    if (typeof capability !== 'string' || !CAPABILITIES.includes(capability)) {
      return `tasks[${i}].capability must be one of ${CAPABILITIES.join(', ')}, got ${JSON.stringify(capability)}`;
    }
  }
  return tasks as SubmitInput[];
}

function failed(err: unknown): Outcome {
  const e = err instanceof SwitchboardError ? err : new SwitchboardError('internal', String(err));
  // A dead task's last error (a timeout, the agent's failure) is in its details.
  const last = (e.details as { error?: { code?: unknown } } | undefined)?.error?.code;
  return {
    status: 'failed',
    error: { code: e.code, message: e.message, ...(typeof last === 'string' ? { last } : {}) },
  };
}

export default {
  async fetch(request: Request): Promise<Response> {
    if (request.method !== 'POST') {
      return Response.json(
        { error: { code: 'not_found', message: 'POST / with {"tasks": [...]}' } },
        { status: 404 },
      );
    }
    let body: unknown;
    try {
      body = await request.json();
    } catch {
      // The body is not JSON: the caller is told so, as for any other bad batch.
      return refuse('the body must be JSON');
    }
    const tasks = readTasks(body);
    if (typeof tasks === 'string') return refuse(tasks);

    // Made inside the handler: the Workers runtime allows no timers or random values in a
    // module's global scope, and an isolate may be dropped between any two requests.
    const sb = createSwitchboard({
      agents: AGENTS.map((definition) => ({ definition, min: 1 })),
    });
    await sb.start();
    try {
      let handles: Awaited<ReturnType<typeof sb.submitMany>>;
      try {
        handles = await sb.submitMany(tasks);
      } catch (err) {
        if (err instanceof SwitchboardError && err.code === 'invalid_request') {
          return refuse(err.message);
        }
        throw err;
      }
      const settled = await Promise.allSettled(handles.map((h) => h.result));
      const outcomes: Outcome[] = settled.map((s) =>
        s.status === 'fulfilled' ? { status: 'completed', result: s.value } : failed(s.reason),
      );
      return Response.json({ outcomes });
    } finally {
      // What is still running (a timed-out agent's handler) is not waited for.
      await sb.shutdown({ drain: false });
    }
  },
};
