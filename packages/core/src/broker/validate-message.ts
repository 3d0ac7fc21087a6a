import { SwitchboardError } from '../errors.js';
import { assertTopic } from '../events/topic-pattern.js';
import { MESSAGE_TYPES, type Message } from '../model/envelope.js';
import { PRIORITIES } from '../model/priority.js';

/** A header that overrides the broker's visibility timeout for one message (ms, integer > 0). */
export const VISIBILITY_TIMEOUT_HEADER = 'visibility-timeout-ms';

const TYPES: ReadonlySet<unknown> = new Set(MESSAGE_TYPES);
const PRIORITY_NAMES: ReadonlySet<unknown> = new Set(PRIORITIES);
const encoder = new TextEncoder();

function invalid(message: string, details?: unknown, cause?: unknown): SwitchboardError {
  const options = cause === undefined ? { details } : { details, cause };
  return new SwitchboardError('invalid_request', `invalid message: ${message}`, options);
}

const isNonEmptyString = (value: unknown): value is string =>
  typeof value === 'string' && value.length > 0;

function checkOptionalString(value: unknown, key: string): void {
  if (value !== undefined && !isNonEmptyString(value)) {
    throw invalid(`${key}: must be a non-empty string`);
  }
}

function checkHeaders(headers: unknown): void {
  if (headers === undefined) return;
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) {
    throw invalid('headers: must be an object of strings');
  }
  for (const [key, value] of Object.entries(headers)) {
    if (typeof value !== 'string') throw invalid(`headers.${key}: must be a string`);
  }
  const visibility = (headers as Record<string, string>)[VISIBILITY_TIMEOUT_HEADER];
  if (visibility !== undefined && !/^[1-9]\d{0,9}$/.test(visibility)) {
    throw invalid(`headers.${VISIBILITY_TIMEOUT_HEADER}: must be a positive integer of ms`);
  }
}

/**
 * Checks that `value` is a well-formed {@link Message} and, when `maxPayloadBytes` is set,
 * that its payload serializes (as JSON, UTF-8) within that many bytes. Throws a
 * `SwitchboardError` `invalid_request` naming the first field at fault.
 */
export function validateMessage(value: unknown, maxPayloadBytes?: number): Message {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid('must be an object');
  }
  const m = value as Record<string, unknown>;
  if (!isNonEmptyString(m.id)) throw invalid('id: must be a non-empty string');
  if (!TYPES.has(m.type)) {
    throw invalid(`type: must be one of ${MESSAGE_TYPES.join(', ')}`, { type: m.type });
  }
  if (!PRIORITY_NAMES.has(m.priority)) {
    throw invalid(`priority: must be one of ${PRIORITIES.join(', ')}`, { priority: m.priority });
  }
  if (!isNonEmptyString(m.sender)) throw invalid('sender: must be a non-empty string');
  // Spelled out rather than looped over key names: this runs once per message sent.
  checkOptionalString(m.recipient, 'recipient');
  checkOptionalString(m.topic, 'topic');
  checkOptionalString(m.correlationId, 'correlationId');
  checkOptionalString(m.replyTo, 'replyTo');
  if (m.broadcast !== undefined && typeof m.broadcast !== 'boolean') {
    throw invalid('broadcast: must be a boolean');
  }
  if (typeof m.createdAt !== 'number' || !Number.isFinite(m.createdAt)) {
    throw invalid('createdAt: must be a finite number of epoch ms');
  }
  if (m.ttlMs !== undefined && !(typeof m.ttlMs === 'number' && m.ttlMs >= 0)) {
    throw invalid('ttlMs: must be a number ≥ 0');
  }
  if (!Number.isSafeInteger(m.attempts) || (m.attempts as number) < 0) {
    throw invalid('attempts: must be an integer ≥ 0');
  }
  checkHeaders(m.headers);
  if (!('payload' in m)) throw invalid('payload: required');
  if (maxPayloadBytes !== undefined) checkPayloadSize(m.payload, maxPayloadBytes);
  return m as unknown as Message;
}

function checkPayloadSize(payload: unknown, maxPayloadBytes: number): void {
  let bytes: number;
  try {
    bytes = encoder.encode(JSON.stringify(payload) ?? '').length;
  } catch (err) {
    throw invalid('payload: cannot be serialized to measure its size', undefined, err);
  }
  if (bytes > maxPayloadBytes) {
    throw invalid(`payload: ${bytes} bytes, over the limit of ${maxPayloadBytes}`, {
      reason: 'payload_too_large',
      bytes,
      limit: maxPayloadBytes,
    });
  }
}

/**
 * Checks that `message` carries the address its route needs: a recipient to be sent, a
 * concrete topic to be published. Throws `invalid_request` otherwise.
 */
export function assertRoutable(message: Message, route: 'send' | 'publish' | 'other'): void {
  if (route === 'send' && message.recipient === undefined) {
    throw invalid('recipient: required by send');
  }
  if (route === 'publish') {
    if (message.topic === undefined) throw invalid('topic: required by publish');
    assertTopic(message.topic);
  }
}

/**
 * The visibility timeout of one message: `override` (checked), else its
 * {@link VISIBILITY_TIMEOUT_HEADER} header (validated with the message), else `fallback`.
 */
export function visibilityOf(
  message: Message,
  override: number | undefined,
  fallback: number,
): number {
  if (override !== undefined && !(Number.isSafeInteger(override) && override >= 1)) {
    throw invalid(`visibilityTimeoutMs: must be an integer ≥ 1, got ${override}`);
  }
  const header = message.headers?.[VISIBILITY_TIMEOUT_HEADER];
  return override ?? (header === undefined ? fallback : Number(header));
}
