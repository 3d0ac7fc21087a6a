import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { requestSchemas, responseSchemas } from '../../../src/protocol/schemas/index.js';

type JsonSchema = Record<string, unknown> & { $ref?: string; $defs?: Record<string, JsonSchema> };

/** The schema itself: a schema with an id converts to a `$ref` into `$defs`. */
function root(doc: JsonSchema): JsonSchema {
  const id = doc.$ref?.replace('#/$defs/', '');
  return id === undefined ? doc : (doc.$defs?.[id] ?? {});
}

describe('JSON Schema of the API', () => {
  it.each(Object.entries(requestSchemas))('converts request %s (input side)', (name, schema) => {
    const doc = root(z.toJSONSchema(schema, { io: 'input' }) as JsonSchema);
    expect(doc.type).toBe('object');
    expect(JSON.stringify(doc)).not.toContain('"not":{}');
    // Each request schema carries its OpenAPI component name.
    expect(z.globalRegistry.get(schema)?.id).toBe(name);
  });

  it.each(Object.entries(responseSchemas))('converts response %s (output side)', (name, schema) => {
    const doc = root(z.toJSONSchema(schema, { io: 'output' }) as JsonSchema);
    expect(doc.type).toBe('object');
    expect(z.globalRegistry.get(schema)?.id).toBe(name);
  });

  it('documents bounds, defaults and required fields of a task submit', () => {
    const doc = root(z.toJSONSchema(requestSchemas.TaskSubmit, { io: 'input' }) as JsonSchema) as {
      required: string[];
      properties: Record<string, Record<string, unknown>>;
    };
    expect(doc.required).toEqual(['capability']);
    expect(doc.properties.timeoutMs).toMatchObject({ minimum: 1, maximum: 86_400_000 });
    expect(doc.properties.maxAttempts).toMatchObject({ default: 3, maximum: 100 });
  });

  it('builds one document with shared components, as an OpenAPI generator does', () => {
    const doc = z.toJSONSchema(z.object({ ...requestSchemas, ...responseSchemas }), {
      io: 'input',
    }) as { $defs: Record<string, unknown> };
    expect(Object.keys(doc.$defs)).toEqual(
      expect.arrayContaining(['TaskSubmit', 'Priority', 'Agent', 'ErrorBody', 'Capability']),
    );
  });
});
