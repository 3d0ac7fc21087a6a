import type { TaskSpan, Telemetry } from '../../contracts/telemetry.js';
import type { TaskRecord } from '../../model/task.js';

/**
 * Starts the submit span of each record, before it is enqueued, and stores the span's trace
 * context on the record in place of the caller's: the task's later spans, in any process,
 * are then children of its submit.
 */
export function startSubmitSpans(telemetry: Telemetry, records: readonly TaskRecord[]): TaskSpan[] {
  const spans: TaskSpan[] = new Array(records.length);
  for (let i = 0; i < records.length; i++) {
    const record = records[i] as TaskRecord;
    const span = telemetry.submit(record);
    if (span.traceparent !== undefined) {
      record.traceparent = span.traceparent;
      if (span.tracestate === undefined) delete record.tracestate;
      else record.tracestate = span.tracestate;
    }
    spans[i] = span;
  }
  return spans;
}

/** Ends submit spans once the enqueue settles: `completed`, or `lost` with the enqueue's error. */
export function endSubmitSpans(spans: readonly TaskSpan[], enqueued: Promise<unknown>): void {
  enqueued.then(
    () => {
      for (const span of spans) span.end('completed');
    },
    (error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      const code = (error as { code?: unknown } | null)?.code;
      const reason = typeof code === 'string' ? { message, code } : { message };
      for (const span of spans) span.end('lost', reason);
    },
  );
}
