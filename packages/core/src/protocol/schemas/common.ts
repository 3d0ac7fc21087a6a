import { z } from 'zod';
import { ERROR_CODES } from '../../errors.js';
import { PRIORITIES } from '../../model/priority.js';

/** The longest id, key, name or topic the API accepts, in UTF-16 code units. */
export const MAX_KEY_LENGTH = 256;

/** The longest free-text message (an error message) the API accepts. */
export const MAX_TEXT_LENGTH = 65_536;

/**
 * A non-empty string of at most {@link MAX_KEY_LENGTH} characters: ids, names, keys, topics.
 * Bounded so that a client cannot make the server hash or store megabyte-long keys.
 */
export function keyString(description: string): z.ZodString {
  return z.string().min(1).max(MAX_KEY_LENGTH).describe(description);
}

/** An integer count or instant that is never negative (epoch ms, attempts, depths). */
export function nonNegativeInt(description: string): z.ZodNumber {
  return z.number().int().min(0).describe(description);
}

/** A task or message priority: `critical`, `high`, `normal` or `low`. */
export const prioritySchema = z
  .enum(PRIORITIES)
  .meta({ id: 'Priority', description: 'Most urgent first: critical, high, normal, low' });

/**
 * Free-form metadata. Zod builds records on a fresh object and skips a `__proto__` key, so a
 * hostile `{"__proto__": {...}}` never becomes a prototype.
 */
export const metadataSchema = z
  .record(z.string().max(MAX_KEY_LENGTH), z.unknown())
  .meta({ id: 'Metadata', description: 'Free-form key/value pairs, stored as given' });

/** Every error code, for the error body's schema (the list is errors.ts's). */
export { ERROR_CODES };

/** One validation issue: where (`tasks.3.capability`) and what. */
export const issueSchema = z
  .object({
    path: z.string().describe('Dot-separated path of the offending field; empty for the body'),
    message: z.string(),
  })
  .meta({ id: 'ValidationIssue' });

/** The body of every error answer: `{"error": {"code", "message", "details"?}}`. */
export const errorBodySchema = z
  .object({
    error: z.object({
      code: z.enum(ERROR_CODES).describe('Stable machine-readable code'),
      message: z.string().describe('Human-readable; for invalid_request, the first issue'),
      details: z
        .unknown()
        .describe('invalid_request: ValidationIssue[]; rate_limited: { retryAfterMs }')
        .exactOptional(),
    }),
  })
  .meta({ id: 'ErrorBody', description: 'The body of every error answer' });

/** An error body as sent. */
export type ErrorBody = z.output<typeof errorBodySchema>;
/** One validation issue as listed in an error's `details`. */
export type ValidationIssue = z.output<typeof issueSchema>;

/**
 * An object that refuses unknown keys, naming them and every known one (a misspelt
 * `catchup` must not leave a schedule silently without its catch-up policy).
 */
export function closedObject<S extends z.ZodRawShape>(shape: S) {
  const known = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}; known: ${known}`
        : undefined,
  });
}
