import { z } from 'zod';
import { MESSAGE_TYPES, type Message } from '../../model/envelope.js';
import { keyString, nonNegativeInt, prioritySchema } from './common.js';

/** A message kind: one of `MESSAGE_TYPES`. */
export const messageTypeSchema = z
  .enum(MESSAGE_TYPES)
  .meta({ id: 'MessageType', description: 'task, result, event, heartbeat, error or control' });

/**
 * The message envelope as it crosses a process edge. Its output type is exactly
 * `Message` of model/envelope.ts (checked at compile time below): optional fields are
 * absent rather than `undefined`, as `exactOptionalPropertyTypes` wants.
 *
 * @example
 * ```ts
 * const message = validate(messageSchema, await serializer.decode(bytes))
 * ```
 */
export const messageSchema = z
  .object({
    id: keyString('Unique id (a UUID when Switchboard creates it)'),
    type: messageTypeSchema,
    priority: prioritySchema,
    sender: keyString('Who sent it: an agent id, a submitter id, system'),
    recipient: keyString('The agent this message is for').exactOptional(),
    topic: keyString('Dot-separated topic it is published to').exactOptional(),
    broadcast: z.boolean().describe('Delivered to every registered endpoint').exactOptional(),
    correlationId: keyString('Ties a reply to its request').exactOptional(),
    replyTo: keyString('Where a reply should go').exactOptional(),
    // Required as in `Message`: JSON has no undefined, so a sender writes null for none.
    payload: z.unknown().describe('Any JSON value; null when there is none'),
    createdAt: nonNegativeInt('When it was created (epoch ms)'),
    ttlMs: nonNegativeInt('Time to live in ms from createdAt').exactOptional(),
    attempts: nonNegativeInt('How many times it has been delivered so far'),
    headers: z
      .record(z.string().max(256), z.string().max(8192))
      .describe('Free-form string headers')
      .exactOptional(),
  })
  .meta({ id: 'Message', description: 'The envelope of every message' });

/** A message as a client may send it (the same fields; nothing defaults). */
export type MessageInput = z.input<typeof messageSchema>;

// Both directions of assignability: the schema and the envelope type may not drift apart.
type Parsed = z.output<typeof messageSchema>;
const parsedIsMessage = (m: Parsed): Message => m;
const messageIsParsed = (m: Message): Parsed => m;
void parsedIsMessage;
void messageIsParsed;
