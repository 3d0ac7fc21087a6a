import { describe, expect, it } from 'vitest';
import { openApiDocument } from '../src/openapi.js';

describe('openApiDocument', () => {
  const doc = openApiDocument() as {
    openapi: string;
    paths: Record<
      string,
      Record<
        string,
        {
          requestBody?: { content: Record<string, { schema: { $ref: string } }> };
          responses: Record<string, unknown>;
        }
      >
    >;
    components: {
      schemas: Record<string, { required?: string[]; properties?: Record<string, unknown> }>;
    };
  };

  it('is OpenAPI 3.1 with every endpoint of API.md', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths).sort()).toEqual([
      '/healthz',
      '/metrics',
      '/openapi.json',
      '/readyz',
      '/v1/agents',
      '/v1/agents/{id}',
      '/v1/agents/{id}/heartbeat',
      '/v1/agents/{id}/lease',
      '/v1/dead-letters',
      '/v1/dead-letters/{id}',
      '/v1/dead-letters/{id}/replay',
      '/v1/events',
      '/v1/fairness',
      '/v1/fairness/keys/{key}',
      '/v1/schedules',
      '/v1/schedules/{id}',
      '/v1/schedules/{id}/pause',
      '/v1/schedules/{id}/resume',
      '/v1/stats',
      '/v1/tasks',
      '/v1/tasks/answers',
      '/v1/tasks/batch',
      '/v1/tasks/{id}',
      '/v1/tasks/{id}/cancel',
      '/v1/tasks/{id}/complete',
      '/v1/tasks/{id}/extend',
      '/v1/tasks/{id}/fail',
      '/v1/tasks/{id}/progress',
      '/v1/tasks/{id}/result',
      '/v1/tasks/{id}/stream',
    ]);
  });

  it('takes its schemas from the validating zod schemas, every $ref resolvable', () => {
    const submit = doc.components.schemas.TaskSubmit;
    expect(submit?.required).toEqual(['capability']);
    // API.md: only the capabilities are required to register; `name` defaults to the id.
    const register = doc.components.schemas.AgentRegister;
    expect(register?.required).toEqual(['capabilities']);
    expect(Object.keys(register?.properties ?? {})).toContain('name');
    expect(Object.keys(submit?.properties ?? {})).toContain('idempotencyKey');
    const refs = JSON.stringify(doc).match(/"#\/components\/schemas\/[^"]+"/g) ?? [];
    expect(refs.length).toBeGreaterThan(20);
    for (const ref of refs) expect(doc.components.schemas[ref.slice(22, -1)]).toBeDefined();
    expect(JSON.stringify(doc)).not.toContain('$defs');
  });

  it('documents CBOR beside JSON and the error answers', () => {
    const post = doc.paths['/v1/tasks']?.post;
    expect(Object.keys(post?.requestBody?.content ?? {})).toEqual([
      'application/json',
      'application/cbor',
    ]);
    expect(Object.keys(post?.responses ?? {})).toEqual(
      expect.arrayContaining(['202', '400', '401', '403', '413', '415', '429', '503']),
    );
  });
});
