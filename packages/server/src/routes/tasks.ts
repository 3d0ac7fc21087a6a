import {
  completeSchema,
  extendSchema,
  failSchema,
  resultQuerySchema,
  taskBatchSchema,
  taskSubmitSchema,
  validate,
} from '@switchboard/core';
import type { Hono } from 'hono';
import type { EngineSubmit } from '../engine.js';
import {
  type AppContext,
  type AppEnv,
  acceptingWork,
  allow,
  notFound,
  parseBody,
  type RouteSettings,
  send,
} from '../http.js';
import { toLeaseView, toTaskView } from '../views.js';

/** The submitter recorded on a task: the token's id when auth is on, else the client IP. */
function submitterOf(c: AppContext): string {
  const { tokenId } = c.get('principal');
  return tokenId === 'anonymous' ? `ip:${c.get('ip')}` : tokenId;
}

/**
 * The task endpoints: submit (single and batch), read, wait for a result, cancel (client
 * scope), and complete, fail, extend a lease (agent scope).
 */
export function taskRoutes(app: Hono<AppEnv>, settings: RouteSettings): void {
  const { engine } = settings;

  const view = async (id: string) => {
    const task = await engine.get(id);
    return task === undefined ? notFound('task', id) : toTaskView(task);
  };

  app.post('/v1/tasks', async (c) => {
    allow(c, 'client');
    acceptingWork(settings);
    // zod built the body afresh (unknown keys dropped): it is ours to complete, no copy.
    const body: EngineSubmit = await parseBody(c, settings, taskSubmitSchema);
    body.submitter = submitterOf(c);
    const handle = await engine.submit(body);
    // A repeated idempotency key created nothing: 200 with the first task as it stands.
    if (!handle.created) return send(c, 200, await view(handle.id));
    return send(c, 202, { id: handle.id, status: 'queued' });
  });

  app.post('/v1/tasks/batch', async (c) => {
    allow(c, 'client');
    acceptingWork(settings);
    const tasks: EngineSubmit[] = (await parseBody(c, settings, taskBatchSchema)).tasks;
    const submitter = submitterOf(c);
    // As for one task: each is a fresh object of zod's; a spread copy cost ~0.5 µs a task.
    for (const task of tasks) task.submitter = submitter;
    const handles = await engine.submitMany(tasks);
    return send(c, 202, { ids: handles.map((h) => h.id) });
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

  app.post('/v1/tasks/:id/extend', async (c) => {
    allow(c, 'agent');
    const { leaseToken, ms } = await parseBody(c, settings, extendSchema);
    const lease = await engine.extend(c.req.param('id'), leaseToken, ms);
    return send(c, 200, toLeaseView(lease));
  });
}
