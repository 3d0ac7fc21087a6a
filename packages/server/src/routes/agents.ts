import { agentRegisterSchema, heartbeatSchema, leaseRequestSchema } from '@switchboard/core';
import type { Hono } from 'hono';
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
    acceptingWork(settings);
    const body = await parseBody(c, settings, leaseRequestSchema, true);
    // The signal ends the long-poll when the agent hangs up, so no task is leased to nobody.
    const tasks = await engine.lease(c.req.param('id'), { ...body, signal: c.req.raw.signal });
    return send(c, 200, { tasks });
  });

  app.delete('/v1/agents/:id', async (c) => {
    allow(c, 'agent');
    const id = c.req.param('id');
    await engine.leave(id);
    return send(c, 200, { id, state: 'shutdown' });
  });
}
