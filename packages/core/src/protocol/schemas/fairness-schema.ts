import { z } from 'zod';
import { MAX_FAIRNESS_WEIGHT } from '../../model/fairness-limits.js';
import { closedObject, keyString, nonNegativeInt } from './common.js';

const weight = (description: string) =>
  z.number().int().min(1).max(MAX_FAIRNESS_WEIGHT).describe(description);
const cap = (description: string) => z.number().int().min(1).describe(description);

/**
 * The body of `PUT /v1/fairness/keys/{key}`: the key's own settings, which replace those it
 * had. A setting left out returns to the default; `{}` clears them all.
 */
export const fairnessKeyBodySchema = closedObject({
  weight: weight(
    `Its share relative to the other keys with work, 1..${MAX_FAIRNESS_WEIGHT}`,
  ).exactOptional(),
  maxConcurrency: cap(
    'At most this many of its tasks leased at once, across capabilities',
  ).exactOptional(),
}).meta({ id: 'FairnessKeyBody' });

/** One fairness key's settings as they apply, and its tasks leased now. */
export const fairnessKeyViewSchema = z
  .object({
    key: keyString('The fairness key'),
    weight: weight('Its weight: its own, else the default'),
    maxConcurrency: cap(
      'Its cap across capabilities, its own or the default; absent when none',
    ).exactOptional(),
    leased: nonNegativeInt(
      'Its tasks leased now; absent when the backend does not enforce fairness',
    ).exactOptional(),
    enforced: z.boolean().describe('Whether the backend dispatches by these settings'),
  })
  .meta({ id: 'FairnessKey' });

/** The fairness policy in force (`GET /v1/fairness`). */
export const fairnessViewSchema = z
  .object({
    backend: z.string().describe('The backend'),
    enforced: z
      .boolean()
      .describe('Whether it dispatches by weights and caps; else keys are stored and shown only'),
    defaultWeight: weight('The weight of a key without one of its own, and of tasks without a key'),
    maxConcurrency: cap(
      'The cap of a key without one of its own, across capabilities; absent when none',
    ).exactOptional(),
    maxConcurrencyByCapability: z
      .record(z.string(), cap('The cap'))
      .describe("At most this many of one key's tasks of the capability leased at once"),
    keys: z.array(fairnessKeyViewSchema).describe('The keys with settings of their own, by key'),
  })
  .meta({ id: 'Fairness' });

export type FairnessKeyBody = z.output<typeof fairnessKeyBodySchema>;
export type FairnessKeyViewBody = z.output<typeof fairnessKeyViewSchema>;
export type FairnessViewBody = z.output<typeof fairnessViewSchema>;
