import { z } from 'zod';
import { nonNegativeInt } from './common.js';

const counts = z.record(z.string(), z.number().int().min(0));

/** The answer of `GET /v1/stats`. */
export const statsSchema = z
  .object({
    agents: z.object({
      total: nonNegativeInt('Agents in the pool'),
      busy: nonNegativeInt('Agents running at least one task'),
      byState: counts.describe('Agents per state'),
    }),
    queue: z.object({
      depth: nonNegativeInt('Tasks queued'),
      byPriority: counts.describe('Tasks queued per priority'),
    }),
    tasks: z.object({
      submitted: nonNegativeInt('Since start'),
      completed: nonNegativeInt('Since start'),
      failed: nonNegativeInt('Failed attempts since start'),
      dead: nonNegativeInt('Since start'),
      cancelled: nonNegativeInt('Since start'),
    }),
    throughputPerSec: z.number().min(0),
    latencyMs: z.object({ p50: z.number().min(0), p99: z.number().min(0) }),
    fairness: z
      .object({
        keys: z
          .array(
            z.object({
              key: z.string(),
              queued: nonNegativeInt('Its tasks ready to lease'),
              leased: nonNegativeInt('Its tasks leased now'),
              leasesPerSec: z
                .number()
                .min(0)
                .describe('Its leases a second since the previous reading; absent at the first')
                .exactOptional(),
            }),
          )
          .describe('The keys with the most tasks queued and leased, most first (at most 10)'),
      })
      .describe('Where the backend enforces fairness (docs/fairness.md)')
      .exactOptional(),
  })
  .meta({ id: 'Stats' });

/** The answer of `GET /healthz` (and of `/readyz` when ready). */
export const healthSchema = z.object({ status: z.string() }).meta({ id: 'Health' });

/** The stats document. */
export type Stats = z.output<typeof statsSchema>;
