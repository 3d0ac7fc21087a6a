import { taskNotFound } from '../../errors.js';
import type { EventBus } from '../../events/event-bus.js';
import type { TaskRecord, TaskStatus } from '../../model/task.js';
import { isTerminal } from '../submit/task-tracker.js';
import type { TaskStreams } from './task-streams.js';

/**
 * What a reader of a task's stream receives, in order: the chunks (`seq` 1 for the first
 * chunk the task ever streamed), a `dropped` marker where chunks it has not read were no
 * longer kept (how many), and one `end` when the task is terminal and every kept chunk has
 * been read.
 */
export type StreamItem =
  | { readonly type: 'chunk'; readonly seq: number; readonly data: unknown; readonly at: number }
  | { readonly type: 'dropped'; readonly count: number }
  | { readonly type: 'end'; readonly status: TaskStatus };

/** Options of `Switchboard.stream`. */
export interface StreamReadOptions {
  /** Start after this chunk (a `seq` read before; 0, the default, for the start). */
  readonly after?: number;
  /** Stops the reading: the iteration ends without an `end` item. */
  readonly signal?: AbortSignal;
}

/** What following a stream needs of the engine. */
export interface StreamSource {
  readonly streams: TaskStreams;
  readonly events: EventBus;
  readonly now: () => number;
  get(id: string): Promise<TaskRecord | undefined>;
}

const ENDINGS = ['task.completed', 'task.dead', 'task.cancelled'] as const;

/**
 * Reads a task's stream: the chunks kept after `after`, then each chunk as it is appended,
 * until the task is terminal (an `end` item) or the signal aborts. The end is heard from the
 * terminal events (from any process on a shared backend), subscribed to only while reading.
 *
 * @throws SwitchboardError `not_found` (at the first step) when the task is not stored.
 */
export async function* followStream(
  source: StreamSource,
  taskId: string,
  options: StreamReadOptions = {},
): AsyncGenerator<StreamItem, void, undefined> {
  const { signal } = options;
  const aborted = () => signal?.aborted === true;
  let after = options.after ?? 0;
  let wake: (() => void) | undefined;
  // Set by every wake-up, so that one that comes while the reader reads is not lost.
  let woken = false;
  const poke = () => {
    woken = true;
    const w = wake;
    wake = undefined;
    w?.();
  };
  let ended: TaskStatus | undefined;
  const offs: (() => void)[] = [];
  try {
    for (const topic of ENDINGS) {
      offs.push(
        source.events.subscribe(
          topic,
          () => {
            ended =
              topic === 'task.completed'
                ? 'completed'
                : topic === 'task.dead'
                  ? 'dead'
                  : 'cancelled';
            poke();
          },
          { filter: (event) => event.taskId === taskId },
        ),
      );
    }
    const streams = source.streams;
    // A shared store is written by every process: the event says where to look again.
    if (streams.shared !== undefined) {
      offs.push(
        source.events.subscribe('task.streamed', poke, {
          filter: (event) => event.taskId === taskId,
        }),
      );
    }
    signal?.addEventListener('abort', poke);
    // Read after subscribing: a task that ends in between is seen either way.
    const record = await source.get(taskId);
    if (record === undefined) throw taskNotFound(taskId);
    if (isTerminal(record.status)) ended ??= record.status;
    while (!aborted()) {
      woken = false;
      const { chunks, dropped } = await streams.load(taskId, after);
      if (dropped > 0) yield { type: 'dropped', count: dropped };
      for (const chunk of chunks) {
        if (aborted()) return;
        after = chunk.seq;
        yield { type: 'chunk', seq: chunk.seq, data: JSON.parse(chunk.json), at: chunk.at };
      }
      if (chunks.length > 0 || dropped > 0) continue;
      if (ended !== undefined) {
        // The end may have been heard before the last chunks were: read once more first.
        if (woken) continue;
        yield { type: 'end', status: ended };
        return;
      }
      if (woken) continue;
      await new Promise<void>((resolve) => {
        const forget =
          streams.shared === undefined ? streams.onAppend(taskId, poke, source.now()) : undefined;
        wake = () => {
          forget?.();
          resolve();
        };
        if (aborted() || ended !== undefined) poke();
      });
    }
  } finally {
    poke();
    signal?.removeEventListener('abort', poke);
    for (const off of offs) off();
  }
}
