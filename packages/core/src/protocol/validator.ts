import type { z } from 'zod';
import { SwitchboardError } from '../errors.js';
import type { ValidationIssue } from './schemas/common.js';

/** The outcome of {@link safeValidate}: the parsed value, or the error and every issue. */
export type ValidationResult<T> =
  | { readonly ok: true; readonly value: T }
  | {
      readonly ok: false;
      readonly error: SwitchboardError;
      readonly issues: readonly ValidationIssue[];
    };

/**
 * Zod's default text for a missing field ("Invalid input: expected string, received
 * undefined") becomes the API's `required`, which is what a client needs to read.
 */
const parseOptions: z.core.ParseContext<z.core.$ZodIssue> = {
  error: (issue) =>
    issue.code === 'invalid_type' && issue.input === undefined ? 'required' : undefined,
};

/** Turns zod issues into `{ path: 'tasks.3.capability', message }` entries, in order. */
export function toValidationIssues(issues: readonly z.core.$ZodIssue[]): ValidationIssue[] {
  return issues.map((issue) => ({
    path: issue.path.map((segment) => String(segment)).join('.'),
    message: issue.message,
  }));
}

/**
 * The `invalid_request` error of a failed validation: its message is the first issue
 * (`capability: required`), its `details` every issue.
 */
export function validationError(
  issues: readonly ValidationIssue[],
  cause?: unknown,
): SwitchboardError {
  const first = issues[0];
  const message =
    first === undefined
      ? 'invalid input'
      : first.path === ''
        ? first.message
        : `${first.path}: ${first.message}`;
  return new SwitchboardError('invalid_request', message, {
    details: issues,
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * Validates `input` against `schema` without throwing.
 *
 * @example
 * ```ts
 * const r = safeValidate(taskSubmitSchema, body)
 * if (!r.ok) return reply(400, { error: r.error.toJSON() })
 * ```
 */
export function safeValidate<S extends z.ZodType>(
  schema: S,
  input: unknown,
): ValidationResult<z.output<S>> {
  const result = schema.safeParse(input, parseOptions);
  if (result.success) return { ok: true, value: result.data };
  const issues = toValidationIssues(result.error.issues);
  return { ok: false, error: validationError(issues, result.error), issues };
}

/**
 * Validates `input` against `schema` and returns the parsed value (defaults applied,
 * unknown keys of objects dropped).
 *
 * @throws SwitchboardError `invalid_request`: message `path: issue` of the first issue,
 * `details` a `{ path, message }[]` of every issue.
 * @example
 * ```ts
 * const task = validate(taskSubmitSchema, JSON.parse(body)) // throws on { capability: '' }
 * ```
 */
export function validate<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = safeValidate(schema, input);
  if (result.ok) return result.value;
  throw result.error;
}

/**
 * A validator bound to one schema, for call sites that validate the same shape many times.
 *
 * @example
 * ```ts
 * const tasks = new ProtocolValidator(taskSubmitSchema)
 * const task = tasks.validate(body)
 * ```
 */
export class ProtocolValidator<S extends z.ZodType> {
  constructor(readonly schema: S) {}

  /** See {@link validate}. */
  validate(input: unknown): z.output<S> {
    return validate(this.schema, input);
  }

  /** See {@link safeValidate}. */
  safeValidate(input: unknown): ValidationResult<z.output<S>> {
    return safeValidate(this.schema, input);
  }
}
