import {
  answersSchema,
  completeSchema,
  extendSchema,
  failSchema,
  resultQuerySchema,
  taskListQuerySchema,
  validate,
} from '@switchboard/core';
import type { Hono } from 'hono';
import { applyAnswers } from '../answers.js';
import { type AppEnv, allow, notFound, parseBody, type RouteSettings, send } from '../http.js';
import { toLeaseView, toTaskView } from '../views.js';

/**
 * The task endpoints: list, read, wait for a result, cancel (client scope), and complete, fail,
 * extend a lease, answer a batch of leases (agent scope). Submits (single and batch) are the
 * hot routes of `hot-routes.ts`.
 */
export function taskRoutes(app: Hono<AppEnv>, settings: RouteSettings): void {
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

  app.post('/v1/tasks/:id/extend', async (c) => {
    allow(c, 'agent');
    const { leaseToken, ms } = await parseBody(c, settings, extendSchema);
    const lease = await engine.extend(c.req.param('id'), leaseToken, ms);
    return send(c, 200, toLeaseView(lease));
  });
}
