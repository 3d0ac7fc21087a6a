import {
  eventsQuerySchema,
  publishEventSchema,
  SwitchboardError,
  validate,
} from '@switchboard/core';
import type { Hono } from 'hono';
import { type AppEnv, acceptingWork, allow, parseBody, type RouteSettings, send } from '../http.js';
import { type HttpFigures, PROMETHEUS_CONTENT_TYPE, prometheusText } from '../metrics.js';
import { openApiDocument } from '../openapi.js';
import type { EventStreams } from '../sse.js';
import { toTaskView } from '../views.js';

const RESERVED = /^(task|agent)(\.|$)/;

/**
 * Dead letters (admin), events (SSE and publish), stats, metrics and the OpenAPI document.
 * `/healthz` and `/readyz` are in the app itself, ahead of authentication.
 */
export function opsRoutes(
  app: Hono<AppEnv>,
  settings: RouteSettings,
  streams: EventStreams,
  figures: () => HttpFigures,
): void {
  const { engine } = settings;

  app.get('/v1/dead-letters', async (c) => {
    allow(c);
    const tasks = await engine.deadLetters();
    return send(c, 200, { tasks: tasks.map(toTaskView) });
  });

  app.post('/v1/dead-letters/:id/replay', async (c) => {
    allow(c);
    acceptingWork(settings);
    const { id } = await engine.replay(c.req.param('id'));
    return send(c, 202, { id, status: 'queued' });
  });

  app.delete('/v1/dead-letters/:id', async (c) => {
    allow(c);
    const id = c.req.param('id');
    await engine.deleteDeadLetter(id);
    return send(c, 200, { id, deleted: true });
  });

  app.get('/v1/events', (c) => {
    allow(c, 'client', 'agent');
    const { topics } = validate(eventsQuerySchema, c.req.query());
    // EventSource sends the header itself when it reconnects; the query parameter is for a
    // first connection that resumes, or a client that cannot set headers. The header is newer.
    const lastEventId = c.req.header('last-event-id') ?? c.req.query('lastEventId');
    return streams.open(topics ?? [], c.req.raw.signal, lastEventId);
  });

  app.post('/v1/events', async (c) => {
    allow(c, 'client', 'agent');
    const { topic, data } = await parseBody(c, settings, publishEventSchema);
    if (RESERVED.test(topic)) {
      throw new SwitchboardError('forbidden', `topics under task. and agent. are reserved`);
    }
    engine.events.publish(topic, { data });
    return send(c, 202, { topic });
  });

  app.get('/v1/stats', async (c) => {
    allow(c, 'client');
    return send(c, 200, await engine.stats());
  });

  app.get('/metrics', async (c) => {
    allow(c);
    const text = prometheusText(await engine.stats(), figures());
    return c.body(text, 200, { 'content-type': PROMETHEUS_CONTENT_TYPE });
  });

  let document: Record<string, unknown> | undefined;
  app.get('/openapi.json', (c) => {
    allow(c);
    document ??= openApiDocument();
    return c.json(document);
  });
}
