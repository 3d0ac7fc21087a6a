import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createMessage } from '../../../src/broker/message.js';
import { MESSAGE_TYPES } from '../../../src/model/envelope.js';
import {
  eventsQuerySchema,
  publishEventSchema,
} from '../../../src/protocol/schemas/event-schema.js';
import { messageSchema } from '../../../src/protocol/schemas/message-schema.js';
import { safeValidate, validate } from '../../../src/protocol/validator.js';

const base = {
  id: '0b6f9d1e-8a51-4a8e-9c3e-1f2d3c4b5a69',
  type: 'task',
  priority: 'high',
  sender: 'planner',
  payload: { url: 'https://example.org' },
  createdAt: 1_700_000_000_000,
  attempts: 0,
};

describe('messageSchema', () => {
  it('accepts every message type and every optional field of the envelope', () => {
    for (const type of MESSAGE_TYPES) {
      expect(safeValidate(messageSchema, { ...base, type }).ok).toBe(true);
    }
    const full = {
      ...base,
      recipient: 'browser-1',
      topic: 'task.completed',
      broadcast: false,
      correlationId: 'c1',
      replyTo: 'planner',
      ttlMs: 60_000,
      headers: { trace: 'abc' },
    };
    expect(validate(messageSchema, full)).toEqual(full);
  });

  it('accepts what createMessage builds, after a JSON round trip', () => {
    const message = createMessage({
      type: 'event',
      sender: 'system',
      payload: [1, 2],
      topic: 'x.y',
    });
    expect(validate(messageSchema, JSON.parse(JSON.stringify(message)))).toEqual(message);
  });

  it.each([
    [{ ...base, type: 'gossip' }, /^type: /],
    [{ ...base, priority: 'urgent' }, /^priority: /],
    [{ ...base, sender: undefined }, 'sender: required'],
    [{ ...base, createdAt: -1 }, /^createdAt: /],
    [{ ...base, attempts: 0.5 }, /^attempts: /],
    [{ ...base, headers: { n: 1 } }, /^headers\.n: /],
    [{ ...base, recipient: null }, /^recipient: /],
    // JSON has no undefined: a message without a payload key is refused (null means none).
    [JSON.parse(JSON.stringify({ ...base, payload: undefined })), 'payload: required'],
  ])('rejects %#', (input, message) => {
    const r = safeValidate(messageSchema, input);
    expect(r.ok ? 'ok' : r.error.message).toMatch(message);
  });
});

describe('events schemas', () => {
  it('parses a comma-separated topic list, trimming blanks', () => {
    expect(validate(eventsQuerySchema, { topics: 'task.*, agent.failed,,**' })).toEqual({
      topics: ['task.*', 'agent.failed', '**'],
    });
    expect(validate(eventsQuerySchema, {})).toEqual({});
    expect(safeValidate(eventsQuerySchema, { topics: ',' }).ok).toBe(false);
    expect(safeValidate(eventsQuerySchema, { topics: 'task..x' }).ok).toBe(false);
  });

  it('encodes a topic list back into the query string a client sends', () => {
    expect(z.encode(eventsQuerySchema, { topics: ['task.*', 'agent.failed'] })).toEqual({
      topics: 'task.*,agent.failed',
    });
  });

  it('publishes a concrete topic with any data', () => {
    expect(validate(publishEventSchema, { topic: 'app.deploy', data: { v: 2 } })).toEqual({
      topic: 'app.deploy',
      data: { v: 2 },
    });
    expect(safeValidate(publishEventSchema, { topic: 'app.*' }).ok).toBe(false);
    expect(safeValidate(publishEventSchema, { data: 1 }).ok).toBe(false);
  });
});
