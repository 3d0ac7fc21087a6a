import {
  type ScheduleView,
  type ScheduleViewBody,
  scheduleBodySchema,
  scheduleIdSchema,
  validationError,
} from '@switchboard/core';
import type { Hono } from 'hono';
import { type AppEnv, allow, parseBody, type RouteSettings, send } from '../http.js';

/**
 * The schedule endpoints (client scope, as tasks): create or replace by id, list, read with
 * the next fire times, pause, resume, delete. A schedule submits its task at each tick of a
 * cron expression or an interval (docs/schedules.md).
 */
export function scheduleRoutes(app: Hono<AppEnv>, settings: RouteSettings): void {
  const { schedules } = settings.engine;

  app.get('/v1/schedules', async (c) => {
    allow(c, 'client');
    return send(c, 200, { schedules: (await schedules.list()).map(toScheduleView) });
  });

  app.get('/v1/schedules/:id', async (c) => {
    allow(c, 'client');
    return send(c, 200, toScheduleView(await schedules.get(c.req.param('id'))));
  });

  app.put('/v1/schedules/:id', async (c) => {
    allow(c, 'client');
    const id = c.req.param('id');
    const checked = scheduleIdSchema.safeParse(id);
    if (!checked.success) {
      const message = checked.error.issues[0]?.message ?? 'not a schedule id';
      throw validationError([{ path: 'id', message }]);
    }
    const body = await parseBody(c, settings, scheduleBodySchema);
    return send(c, 200, toScheduleView(await schedules.upsert({ id, ...body })));
  });

  app.post('/v1/schedules/:id/pause', async (c) => {
    allow(c, 'client');
    return send(c, 200, toScheduleView(await schedules.pause(c.req.param('id'))));
  });

  app.post('/v1/schedules/:id/resume', async (c) => {
    allow(c, 'client');
    return send(c, 200, toScheduleView(await schedules.resume(c.req.param('id'))));
  });

  app.delete('/v1/schedules/:id', async (c) => {
    allow(c, 'client');
    const id = c.req.param('id');
    await schedules.remove(id);
    return send(c, 200, { id, deleted: true });
  });
}

/**
 * A schedule as the API shows it: the contract's fields, picked one by one (the stored record
 * also holds the scheduler's own bookkeeping: its anchor and the ticks claimed).
 */
export function toScheduleView(s: ScheduleView): ScheduleViewBody {
  const view: ScheduleViewBody = {
    id: s.id,
    task: s.task,
    overlap: s.overlap,
    catchUp: s.catchUp,
    catchUpLimit: s.catchUpLimit,
    paused: s.paused,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
    nextRuns: s.nextRuns,
  };
  if (s.cron !== undefined) view.cron = s.cron;
  if (s.timezone !== undefined) view.timezone = s.timezone;
  if (s.everyMs !== undefined) view.everyMs = s.everyMs;
  if (s.lastFiredAt !== undefined) view.lastFiredAt = s.lastFiredAt;
  if (s.lastTaskId !== undefined) view.lastTaskId = s.lastTaskId;
  return view;
}
