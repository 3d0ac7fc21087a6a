import { requestSchemas, responseSchemas } from '@switchboard/core';
import { z } from 'zod';

type Json = Record<string, unknown>;
type RequestName = keyof typeof requestSchemas;
type ResponseName = keyof typeof responseSchemas;

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** Converts the core schemas to components, renaming an output variant that differs. */
function components(): { schemas: Json; names: Record<string, string> } {
  const schemas: Json = {};
  const names: Record<string, string> = {};
  const add = (name: string, schema: z.ZodType, io: 'input' | 'output') => {
    const doc = z.toJSONSchema(schema, { io, target: 'draft-2020-12', unrepresentable: 'any' });
    const defs = (doc.$defs ?? {}) as Record<string, unknown>;
    const renamed: Record<string, string> = {};
    for (const [id, def] of Object.entries(defs)) {
      const known = schemas[id];
      renamed[id] =
        known === undefined || JSON.stringify(known) === JSON.stringify(def) ? id : `${id}Output`;
    }
    const text = JSON.stringify(defs).replace(
      /"#\/\$defs\/([^"]+)"/g,
      (_, id: string) => `"#/components/schemas/${renamed[id] ?? id}"`,
    );
    for (const [id, def] of Object.entries(JSON.parse(text) as Json))
      schemas[renamed[id] ?? id] = def;
    const root = /^#\/\$defs\/(.+)$/.exec(String(doc.$ref ?? ''));
    names[`${io}:${name}`] = root === null ? name : (renamed[root[1] as string] ?? name);
  };
  for (const [name, schema] of Object.entries(requestSchemas)) add(name, schema, 'input');
  for (const [name, schema] of Object.entries(responseSchemas)) add(name, schema, 'output');
  return { schemas, names };
}

interface Operation {
  summary: string;
  scopes: string;
  body?: RequestName;
  bodyOptional?: boolean;
  ok: [status: number, schema: ResponseName | null, type?: string];
  query?: Json[];
  errors: number[];
}

/** The path parameters of `path`, one for each `{name}` in it. */
const pathParams = (path: string): Json[] =>
  [...path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({
    name,
    in: 'path',
    required: true,
    schema: { type: 'string' },
  }));
/** The W3C Trace Context headers a submit accepts (https://www.w3.org/TR/trace-context/). */
const TRACE_HEADERS: Json[] = [
  {
    name: 'traceparent',
    in: 'header',
    description:
      'W3C trace context: the span the task continues, for each task whose body gives no traceparent; an invalid one is ignored, as the W3C spec asks',
    schema: { type: 'string' },
    example: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
  },
  {
    name: 'tracestate',
    in: 'header',
    description: 'W3C trace context: vendor state that goes with the traceparent header',
    schema: { type: 'string' },
  },
];
const COMMON = [400, 401, 403, 413, 415, 429, 503];

const OPERATIONS: Record<string, Record<string, Operation>> = {
  '/v1/agents': {
    post: {
      summary: 'Register a remote agent',
      scopes: 'agent',
      body: 'AgentRegister',
      ok: [201, 'Agent'],
      errors: COMMON,
    },
    get: {
      summary: 'List agents',
      scopes: 'agent',
      ok: [200, 'AgentList'],
      errors: [401, 403, 429],
    },
  },
  '/v1/agents/{id}': {
    get: {
      summary: 'One agent',
      scopes: 'agent',
      ok: [200, 'Agent'],
      errors: [401, 403, 404, 429],
    },
    delete: {
      summary: 'Leave gracefully; held tasks go back to the queue',
      scopes: 'agent',
      ok: [200, null],
      errors: [401, 403, 404, 429],
    },
  },
  '/v1/agents/{id}/heartbeat': {
    post: {
      summary: 'Heartbeat (404: register again)',
      scopes: 'agent',
      body: 'Heartbeat',
      bodyOptional: true,
      ok: [200, 'Agent'],
      errors: [...COMMON, 404],
    },
  },
  '/v1/agents/{id}/lease': {
    post: {
      summary: 'Lease tasks (long-poll up to waitMs)',
      scopes: 'agent',
      body: 'LeaseRequest',
      bodyOptional: true,
      ok: [200, 'LeaseResponse'],
      errors: [...COMMON, 404],
    },
  },
  '/v1/tasks': {
    get: {
      summary:
        'List tasks, newest first, a page at a time (a short page may still have a nextCursor)',
      scopes: 'client',
      query: [
        { name: 'status', in: 'query', schema: ref('TaskStatus') },
        { name: 'capability', in: 'query', schema: { type: 'string', minLength: 1 } },
        { name: 'idempotencyKey', in: 'query', schema: { type: 'string', minLength: 1 } },
        {
          name: 'limit',
          in: 'query',
          schema: { type: 'integer', minimum: 1, maximum: 1000, default: 50 },
        },
        {
          name: 'cursor',
          in: 'query',
          description: "The previous page's nextCursor",
          schema: { type: 'string' },
        },
      ],
      ok: [200, 'TaskPage'],
      errors: [400, 401, 403, 429],
    },
    post: {
      summary: 'Submit a task (200 with the first task for a repeated idempotencyKey)',
      scopes: 'client',
      query: TRACE_HEADERS,
      body: 'TaskSubmit',
      ok: [202, 'TaskAccepted'],
      errors: COMMON,
    },
  },
  '/v1/tasks/batch': {
    post: {
      summary: 'Submit up to 10,000 tasks, all or nothing',
      scopes: 'client',
      query: TRACE_HEADERS,
      body: 'TaskBatch',
      ok: [202, 'BatchAccepted'],
      errors: COMMON,
    },
  },
  '/v1/tasks/answers': {
    post: {
      summary: 'Complete or fail up to 1,000 leases, each on its own (an outcome per answer)',
      scopes: 'agent',
      body: 'TaskAnswers',
      ok: [200, 'AnswersResponse'],
      errors: COMMON,
    },
  },
  '/v1/tasks/{id}': {
    get: { summary: 'One task', scopes: 'client', ok: [200, 'Task'], errors: [401, 403, 404, 429] },
  },
  '/v1/tasks/{id}/result': {
    get: {
      summary: 'The task once terminal, or as it stands after waitMs',
      scopes: 'client',
      query: [
        {
          name: 'waitMs',
          in: 'query',
          schema: { type: 'integer', minimum: 0, maximum: 60000, default: 0 },
        },
      ],
      ok: [200, 'Task'],
      errors: [400, 401, 403, 404, 429],
    },
  },
  '/v1/tasks/{id}/cancel': {
    post: {
      summary: 'Cancel (409 when already terminal)',
      scopes: 'client',
      ok: [200, 'Task'],
      errors: [401, 403, 404, 409, 429],
    },
  },
  '/v1/tasks/{id}/complete': {
    post: {
      summary: 'Complete a lease',
      scopes: 'agent',
      body: 'TaskComplete',
      ok: [200, 'Task'],
      errors: [...COMMON, 404, 409],
    },
  },
  '/v1/tasks/{id}/fail': {
    post: {
      summary: 'Fail a lease (retried with backoff or dead)',
      scopes: 'agent',
      body: 'TaskFail',
      ok: [200, 'Task'],
      errors: [...COMMON, 404, 409],
    },
  },
  '/v1/tasks/{id}/extend': {
    post: {
      summary: 'Extend a lease',
      scopes: 'agent',
      body: 'TaskExtend',
      ok: [200, 'TaskLease'],
      errors: [...COMMON, 404, 409],
    },
  },
  '/v1/tasks/{id}/progress': {
    post: {
      summary:
        "Report progress and append chunks to the task's stream; renews the lease (a heartbeat)",
      scopes: 'agent',
      body: 'TaskProgressReport',
      ok: [200, 'TaskProgressAnswer'],
      errors: [...COMMON, 404, 409],
    },
  },
  '/v1/tasks/{id}/stream': {
    get: {
      summary:
        "Server-Sent Events of the task's partial output: chunk (id: seq, data: StreamChunk), dropped {count}, then end {status}",
      scopes: 'client',
      query: [
        {
          name: 'Last-Event-ID',
          in: 'header',
          description: 'The seq of the last chunk received: the stream resumes after it',
          schema: { type: 'string' },
        },
        {
          name: 'lastEventId',
          in: 'query',
          description: 'The same as the Last-Event-ID header, which wins when both are given',
          schema: { type: 'integer', minimum: 0 },
        },
      ],
      ok: [200, null, 'text/event-stream'],
      errors: [400, 401, 403, 404, 429],
    },
  },
  '/v1/dead-letters': {
    get: { summary: 'Dead tasks', scopes: 'admin', ok: [200, 'TaskList'], errors: [401, 403, 429] },
  },
  '/v1/dead-letters/{id}/replay': {
    post: {
      summary: 'Queue a dead task again, attempts starting over',
      scopes: 'admin',
      ok: [202, 'TaskAccepted'],
      errors: [401, 403, 404, 429, 503],
    },
  },
  '/v1/schedules': {
    get: {
      summary: 'Every schedule, by id, with its next fire times',
      scopes: 'client',
      ok: [200, 'ScheduleList'],
      errors: [401, 403, 429],
    },
  },
  '/v1/schedules/{id}': {
    get: {
      summary: 'One schedule with its next fire times',
      scopes: 'client',
      ok: [200, 'Schedule'],
      errors: [401, 403, 404, 429],
    },
    put: {
      summary: 'Create or replace a schedule (a cron expression or an interval, and its task)',
      scopes: 'client',
      body: 'ScheduleBody',
      ok: [200, 'Schedule'],
      errors: COMMON,
    },
    delete: {
      summary: 'Delete a schedule',
      scopes: 'client',
      ok: [200, null],
      errors: [401, 403, 404, 429],
    },
  },
  '/v1/schedules/{id}/pause': {
    post: {
      summary: 'Pause a schedule: no tick fires until it is resumed',
      scopes: 'client',
      ok: [200, 'Schedule'],
      errors: [401, 403, 404, 429],
    },
  },
  '/v1/schedules/{id}/resume': {
    post: {
      summary: 'Resume a schedule, its ticks counted from now',
      scopes: 'client',
      ok: [200, 'Schedule'],
      errors: [401, 403, 404, 429],
    },
  },
  '/v1/fairness': {
    get: {
      summary: 'The fairness policy in force: default weight and caps, and the keys set apart',
      scopes: 'client',
      ok: [200, 'Fairness'],
      errors: [401, 403, 429],
    },
  },
  '/v1/fairness/keys/{key}': {
    get: {
      summary: "One fairness key's weight and cap as they apply, and its tasks leased now",
      scopes: 'client',
      ok: [200, 'FairnessKey'],
      errors: [400, 401, 403, 429],
    },
    put: {
      summary:
        "Replace a fairness key's own weight and cap (those left out return to the defaults)",
      scopes: 'admin',
      body: 'FairnessKeyBody',
      ok: [200, 'FairnessKey'],
      errors: COMMON,
    },
    delete: {
      summary: "Clear a fairness key's own settings: it follows the defaults again",
      scopes: 'admin',
      ok: [200, 'FairnessKey'],
      errors: [400, 401, 403, 429],
    },
  },
  '/v1/dead-letters/{id}': {
    delete: {
      summary: 'Delete a dead task',
      scopes: 'admin',
      ok: [200, null],
      errors: [401, 403, 404, 429],
    },
  },
  '/v1/events': {
    get: {
      summary:
        'Server-Sent Events; topics is a comma-separated list of patterns (* one segment, ** any)',
      scopes: 'client, agent',
      query: [
        { name: 'topics', in: 'query', schema: { type: 'string' }, example: 'task.*,agent.failed' },
        {
          name: 'Last-Event-ID',
          in: 'header',
          description:
            'The id of the last event received: the kept events after it are sent first, after a switchboard.missed event when some may be lost',
          schema: { type: 'string' },
        },
        {
          name: 'lastEventId',
          in: 'query',
          description: 'The same as the Last-Event-ID header, which wins when both are given',
          schema: { type: 'string' },
        },
      ],
      ok: [200, null, 'text/event-stream'],
      errors: [400, 401, 403, 429],
    },
    post: {
      summary: 'Publish an event (task.* and agent.* are reserved: 403)',
      scopes: 'client, agent',
      body: 'PublishEvent',
      ok: [202, null],
      errors: COMMON,
    },
  },
  '/v1/stats': {
    get: { summary: 'Figures', scopes: 'client', ok: [200, 'Stats'], errors: [401, 403, 429] },
  },
  '/healthz': { get: { summary: 'Liveness', scopes: 'none', ok: [200, 'Health'], errors: [] } },
  '/readyz': {
    get: {
      summary: 'Readiness (503 starting or draining)',
      scopes: 'none',
      ok: [200, 'Health'],
      errors: [503],
    },
  },
  '/metrics': {
    get: {
      summary: 'Prometheus text exposition',
      scopes: 'admin',
      ok: [200, null, 'text/plain'],
      errors: [401, 403],
    },
  },
  '/openapi.json': {
    get: {
      summary: 'This document',
      scopes: 'admin',
      ok: [200, null, 'application/json'],
      errors: [401, 403],
    },
  },
};

const DESCRIPTIONS: Record<number, string> = {
  400: 'invalid_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited (Retry-After header, seconds)',
  503: 'unavailable',
};

const media = (schema: Json) => ({
  'application/json': { schema },
  'application/cbor': { schema },
});

/**
 * The OpenAPI 3.1 document of the API, generated from core's request and response zod
 * schemas (the very ones that validate requests), so that it cannot drift from them.
 *
 * @example
 * ```ts
 * app.get('/openapi.json', (c) => c.json(openApiDocument()))
 * ```
 */
export function openApiDocument(version = '0.1.0'): Json {
  const { schemas, names } = components();
  const paths: Json = {};
  for (const [path, methods] of Object.entries(OPERATIONS)) {
    const item: Json = {};
    for (const [method, op] of Object.entries(methods)) {
      const [status, schema, type] = op.ok;
      const parameters = [...pathParams(path), ...(op.query ?? [])];
      const responses: Json = {
        [status]: {
          description: 'OK',
          ...(schema === null
            ? type === undefined
              ? {}
              : { content: { [type]: { schema: {} } } }
            : { content: media(ref(names[`output:${schema}`] ?? schema)) }),
        },
      };
      for (const code of op.errors) {
        responses[code] = {
          description: DESCRIPTIONS[code],
          content: media(ref(names['output:ErrorBody'] ?? 'ErrorBody')),
        };
      }
      item[method] = {
        summary: op.summary,
        description: `Scopes: ${op.scopes}.`,
        ...(parameters.length === 0 ? {} : { parameters }),
        ...(op.body === undefined
          ? {}
          : {
              requestBody: {
                required: op.bodyOptional !== true,
                content: media(ref(names[`input:${op.body}`] ?? op.body)),
              },
            }),
        responses,
        ...(op.scopes === 'none' ? { security: [] } : {}),
      };
    }
    paths[path] = item;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Switchboard HTTP API',
      version,
      description: 'Multi-agent orchestration over HTTP: remote agents, tasks, events.',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    paths,
    components: {
      schemas,
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'Needed once any token is configured; scopes admin, client, agent.',
        },
      },
    },
  };
}
