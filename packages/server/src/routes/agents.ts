import { agentRegisterSchema, heartbeatSchema, leaseRequestSchema } from '@switchboard/core';
import type { Hono } from 'hono';
import { applyAnswers } from '../answers.js';
import {
  type AppEnv,
  acceptingWork,
  allow,
  notFound,
  parseBody,
  type RouteSettings,
  send,
} from '../http.js';
import { toAgentView } from '../views.js';

/**
 * The remote-agent endpoints: register, list, get, heartbeat, lease (long-poll) and leave.
 * Every one needs the agent scope.
 */
export function agentRoutes(app: Hono<AppEnv>, settings: RouteSettings): void {
  const { engine } = settings;

  app.post('/v1/agents', async (c) => {
    allow(c, 'agent');
    acceptingWork(settings);
    const body = await parseBody(c, settings, agentRegisterSchema);
    return send(c, 201, toAgentView(await engine.registerRemote(body)));
  });

  app.get('/v1/agents', async (c) => {
    allow(c, 'agent');
    return send(c, 200, { agents: (await engine.listAgents()).map(toAgentView) });
  });

  app.get('/v1/agents/:id', async (c) => {
    allow(c, 'agent');
    const id = c.req.param('id');
    return send(c, 200, toAgentView((await engine.getAgent(id)) ?? notFound('agent', id)));
  });

  app.post('/v1/agents/:id/heartbeat', async (c) => {
    allow(c, 'agent');
    const body = await parseBody(c, settings, heartbeatSchema, true);
    return send(c, 200, toAgentView(await engine.heartbeat(c.req.param('id'), body.metrics)));
  });

  app.post('/v1/agents/:id/lease', async (c) => {
    allow(c, 'agent');
    const { answers, ...request } = await parseBody(c, settings, leaseRequestSchema, true);
    // The answers a worker sends along are applied first, even when the lease itself is then
    // refused (the server drains, or no longer knows the agent): they are what frees the
    // slots being leased, and a drain waits for them. A worker that sends them again after a
    // refusal is told 409 for each one already applied.
    const outcomes = answers === undefined ? undefined : await applyAnswers(engine, answers);
    acceptingWork(settings);
    // The signal ends the long-poll when the agent hangs up, so no task is leased to nobody.
    const tasks = await engine.lease(c.req.param('id'), { ...request, signal: c.req.raw.signal });
    return send(c, 200, outcomes === undefined ? { tasks } : { tasks, answers: outcomes });
  });

  app.delete('/v1/agents/:id', async (c) => {
    allow(c, 'agent');
    const id = c.req.param('id');
    await engine.leave(id);
    return send(c, 200, { id, state: 'shutdown' });
  });
}
