import {
  answersSchema,
  completeSchema,
  extendSchema,
  failSchema,
  progressReportSchema,
  resultQuerySchema,
  SwitchboardError,
  streamQuerySchema,
  taskListQuerySchema,
  validate,
} from '@switchboard/core';
import type { Hono } from 'hono';
import { applyAnswers } from '../answers.js';
import { type AppEnv, allow, notFound, parseBody, type RouteSettings, send } from '../http.js';
import type { EventStreams } from '../sse.js';
import { taskStreamResponse } from '../task-stream.js';
import { toLeaseView, toTaskView } from '../views.js';

/**
 * The task endpoints: list, read, wait for a result, follow a task's stream of partial output,
 * cancel (client scope), and complete, fail, extend a lease, report progress, answer a batch
 * of leases (agent scope). Submits (single and batch) are the hot routes of `hot-routes.ts`.
 */
export function taskRoutes(
  app: Hono<AppEnv>,
  settings: RouteSettings,
  streams: EventStreams,
): void {
  const { engine } = settings;

  const view = async (id: string) => {
    const task = await engine.get(id);
    return task === undefined ? notFound('task', id) : toTaskView(task);
  };

  app.get('/v1/tasks', async (c) => {
    allow(c, 'client');
    const query = validate(taskListQuerySchema, c.req.query());
    const page = await engine.listTasks(query);
    const tasks = page.tasks.map(toTaskView);
    return send(c, 200, page.nextCursor === undefined ? { tasks } : { ...page, tasks });
  });

  app.get('/v1/tasks/:id', async (c) => {
    allow(c, 'client');
    return send(c, 200, await view(c.req.param('id')));
  });

  app.get('/v1/tasks/:id/result', async (c) => {
    allow(c, 'client');
    const { waitMs } = validate(resultQuerySchema, c.req.query());
    const id = c.req.param('id');
    if (waitMs === 0) return send(c, 200, await view(id));
    return send(c, 200, toTaskView(await engine.waitFor(id, waitMs)));
  });

  app.post('/v1/tasks/:id/cancel', async (c) => {
    allow(c, 'client');
    return send(c, 200, toTaskView(await engine.cancel(c.req.param('id'))));
  });

  app.post('/v1/tasks/:id/complete', async (c) => {
    allow(c, 'agent');
    const { leaseToken, result } = await parseBody(c, settings, completeSchema);
    return send(c, 200, toTaskView(await engine.complete(c.req.param('id'), leaseToken, result)));
  });

  app.post('/v1/tasks/:id/fail', async (c) => {
    allow(c, 'agent');
    const { leaseToken, error } = await parseBody(c, settings, failSchema);
    return send(c, 200, toTaskView(await engine.fail(c.req.param('id'), leaseToken, error)));
  });

  // Accepted while the server drains, like a single complete or fail: answering what is in
  // flight is what a drain waits for.
  app.post('/v1/tasks/answers', async (c) => {
    allow(c, 'agent');
    const { answers } = await parseBody(c, settings, answersSchema);
    return send(c, 200, { answers: await applyAnswers(engine, answers) });
  });

  // A report renews the lease, so that a worker that reports often needs no extend besides.
  app.post('/v1/tasks/:id/progress', async (c) => {
    allow(c, 'agent');
    const { leaseToken, ...report } = await parseBody(c, settings, progressReportSchema);
    const id = c.req.param('id');
    const { lease, lastSeq } = await engine.progress(id, leaseToken, report);
    const answer = { id, leaseExpiresAt: lease.leaseExpiresAt };
    return send(c, 200, lastSeq === undefined ? answer : { ...answer, lastSeq });
  });

  app.get('/v1/tasks/:id/stream', async (c) => {
    allow(c, 'client');
    const query = validate(streamQuerySchema, c.req.query());
    // EventSource sends the header itself when it reconnects; it wins over the query.
    const header = c.req.header('last-event-id');
    const after = header === undefined ? (query.lastEventId ?? 0) : Number(header);
    if (!Number.isSafeInteger(after) || after < 0) {
      throw new SwitchboardError('invalid_request', 'Last-Event-ID: must be a chunk seq', {
        details: [{ path: 'Last-Event-ID', message: 'must be an integer ≥ 0' }],
      });
    }
    const id = c.req.param('id');
    // Checked before answering, so that an unknown task is a 404 rather than an empty stream.
    await view(id);
    const stop = new AbortController();
    const request = c.req.raw.signal;
    const abort = () => stop.abort();
    request.addEventListener('abort', abort, { once: true });
    const forget = streams.hold(abort);
    const items = engine.stream(id, { after, signal: stop.signal })[Symbol.asyncIterator]();
    return taskStreamResponse(items, streams.pingMs, stop.signal, () => {
      forget();
      request.removeEventListener('abort', abort);
    });
  });

  app.post('/v1/tasks/:id/extend', async (c) => {
    allow(c, 'agent');
    const { leaseToken, ms } = await parseBody(c, settings, extendSchema);
    const lease = await engine.extend(c.req.param('id'), leaseToken, ms);
    return send(c, 200, toLeaseView(lease));
  });
}
