import { z } from 'zod';
import { keyString, nonNegativeInt } from './common.js';
import { MAX_TIMEOUT_MS } from './task-schema.js';

/** The most chunks one progress report may carry. */
export const MAX_REPORT_CHUNKS = 1000;

/**
 * The body of `POST /v1/tasks/{id}/progress`: a report of the lease's holder, which also
 * renews the lease (a heartbeat). Each part is optional; an empty report only renews.
 */
export const progressReportSchema = z
  .object({
    leaseToken: keyString('The token of the lease reporting'),
    value: z
      .unknown()
      .describe('The progress now: a number or a small JSON value (at most 4 KiB of JSON)')
      .exactOptional(),
    chunks: z
      .array(z.unknown())
      .max(MAX_REPORT_CHUNKS)
      .describe("Partial output to append to the task's stream, in order")
      .exactOptional(),
    extendMs: z
      .number()
      .int()
      .min(1)
      .max(MAX_TIMEOUT_MS)
      .describe("The lease's new length from now; default the task's timeoutMs")
      .exactOptional(),
  })
  .meta({ id: 'TaskProgressReport' });

/** The answer to a progress report: the lease's new expiry and the stream's last chunk. */
export const progressAnswerSchema = z
  .object({
    id: z.string(),
    leaseExpiresAt: nonNegativeInt('Epoch ms'),
    lastSeq: nonNegativeInt(
      'The seq of the last chunk appended, when chunks were sent',
    ).exactOptional(),
  })
  .meta({ id: 'TaskProgressAnswer' });

/**
 * The query of `GET /v1/tasks/{id}/stream`: where to resume (the `Last-Event-ID` header wins
 * when both are given).
 */
export const streamQuerySchema = z
  .object({
    lastEventId: z.coerce
      .number()
      .int()
      .min(0)
      .describe('Resume after the chunk of this seq (a chunk event id)')
      .exactOptional(),
  })
  .strict()
  .meta({ id: 'StreamQuery' });

/** The `data` of a `chunk` event of a task's stream; its `id` is `seq`. */
export const streamChunkSchema = z
  .object({
    seq: z.number().int().min(1).describe('1 for the first chunk the task streamed'),
    data: z.unknown().describe('The chunk as the handler gave it'),
    at: nonNegativeInt('Epoch ms'),
  })
  .meta({ id: 'StreamChunk' });

/** A validated progress report. */
export type ProgressReportRequest = z.output<typeof progressReportSchema>;
