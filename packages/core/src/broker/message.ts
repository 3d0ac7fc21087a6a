import type { Message, MessageType } from '../model/envelope.js';
import type { Priority } from '../model/priority.js';

/**
 * What a caller supplies to build a {@link Message}: everything the envelope holds, with
 * `id`, `priority`, `createdAt` and `attempts` optional.
 */
export interface MessageInit<P = unknown> {
  type: MessageType;
  sender: string;
  payload: P;
  id?: string;
  priority?: Priority;
  recipient?: string;
  topic?: string;
  broadcast?: boolean;
  correlationId?: string;
  replyTo?: string;
  createdAt?: number;
  ttlMs?: number;
  attempts?: number;
  headers?: Record<string, string>;
}

/**
 * Builds a message envelope, filling a fresh UUID, `priority: 'normal'`, `createdAt: now`
 * and `attempts: 0` where `init` leaves them out. It does not validate: the broker does,
 * once, when the message enters it.
 *
 * @example
 * ```ts
 * broker.send(createMessage({ type: 'task', sender: 'planner', recipient: 'browser-1',
 *   payload: { url: 'https://example.org' }, priority: 'high', ttlMs: 60_000 }))
 * ```
 */
export function createMessage<P>(init: MessageInit<P>, now: number = Date.now()): Message<P> {
  return copyMessage({
    ...init,
    id: init.id ?? crypto.randomUUID(),
    priority: init.priority ?? 'normal',
    createdAt: init.createdAt ?? now,
    attempts: init.attempts ?? 0,
  });
}

/**
 * A shallow copy of the envelope's own fields (payload and headers shared). It is built
 * field by field, not by spreading: V8 gives objects made by a spread shapes on which every
 * lookup of an absent optional field is slow, and the broker checks those fields on every
 * message (see bench/RESULTS.md, Figures quoted in code comments before).
 */
export function copyMessage<P>(m: Message<P>): Message<P> {
  const out: Message<P> = {
    id: m.id,
    type: m.type,
    priority: m.priority,
    sender: m.sender,
    payload: m.payload,
    createdAt: m.createdAt,
    attempts: m.attempts,
  };
  if (m.recipient !== undefined) out.recipient = m.recipient;
  if (m.topic !== undefined) out.topic = m.topic;
  if (m.broadcast !== undefined) out.broadcast = m.broadcast;
  if (m.correlationId !== undefined) out.correlationId = m.correlationId;
  if (m.replyTo !== undefined) out.replyTo = m.replyTo;
  if (m.ttlMs !== undefined) out.ttlMs = m.ttlMs;
  if (m.headers !== undefined) out.headers = m.headers;
  return out;
}

/**
 * True when the message has a `ttlMs` and its lifetime `[createdAt, createdAt + ttlMs)`
 * is over at `now` (epoch ms).
 */
export function isExpired(message: Pick<Message, 'createdAt' | 'ttlMs'>, now: number): boolean {
  return message.ttlMs !== undefined && now >= message.createdAt + message.ttlMs;
}
