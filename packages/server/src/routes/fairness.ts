import { fairnessKeyBodySchema } from '@switchboard/core';
import type { Hono } from 'hono';
import { type AppEnv, allow, parseBody, type RouteSettings, send } from '../http.js';

/**
 * The fairness endpoints: the policy in force and one key's settings (read with a client
 * token), and a key's weight and cap set or cleared at run time (admin, as they change what
 * every client's tasks get). See docs/fairness.md.
 */
export function fairnessRoutes(app: Hono<AppEnv>, settings: RouteSettings): void {
  const { fairness } = settings.engine;

  app.get('/v1/fairness', async (c) => {
    allow(c, 'client');
    return send(c, 200, await fairness.describe());
  });

  app.get('/v1/fairness/keys/:key', async (c) => {
    allow(c, 'client');
    return send(c, 200, await fairness.get(c.req.param('key')));
  });

  app.put('/v1/fairness/keys/:key', async (c) => {
    allow(c);
    const key = c.req.param('key');
    const body = await parseBody(c, settings, fairnessKeyBodySchema);
    await fairness.set(key, body);
    return send(c, 200, await fairness.get(key));
  });

  app.delete('/v1/fairness/keys/:key', async (c) => {
    allow(c);
    const key = c.req.param('key');
    await fairness.set(key, {});
    return send(c, 200, await fairness.get(key));
  });
}
