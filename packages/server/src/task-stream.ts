import type { StreamItem } from '@switchboard/core';
import { SSE_HEADERS } from './sse.js';

const encoder = new TextEncoder();

/** An item of a task's stream as a Server-Sent Event: `chunk` (with its seq as id), `dropped` or `end`. */
export function streamFrame(item: StreamItem): string {
  switch (item.type) {
    case 'chunk':
      return `id: ${item.seq}\nevent: chunk\ndata: ${JSON.stringify({ seq: item.seq, data: item.data, at: item.at })}\n\n`;
    case 'dropped':
      return `event: dropped\ndata: ${JSON.stringify({ count: item.count })}\n\n`;
    case 'end':
      return `event: end\ndata: ${JSON.stringify({ status: item.status })}\n\n`;
  }
}

/**
 * `GET /v1/tasks/{id}/stream` as a Server-Sent Events response. The body pulls the next item
 * only when the client has read the previous ones, so a slow client holds no buffer here: the
 * chunks wait in the task's bounded stream, and one that falls behind its bound gets a
 * `dropped` event. A comment line every `pingMs` keeps an idle connection (and proxies)
 * open. The response ends after the `end` event, or when the client goes away or `signal`
 * aborts; `onEnd` is called once then.
 */
export function taskStreamResponse(
  items: AsyncIterator<StreamItem>,
  pingMs: number,
  signal: AbortSignal | undefined,
  onEnd: () => void,
): Response {
  let ping: ReturnType<typeof setInterval> | undefined;
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    onEnd();
    if (ping !== undefined) clearInterval(ping);
    signal?.removeEventListener('abort', stop);
  };
  const stop = () => {
    finish();
    void items.return?.();
  };
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(': streaming\n\n'));
      ping = setInterval(() => {
        if (!done && (controller.desiredSize ?? 0) > 0)
          controller.enqueue(encoder.encode(': ping\n\n'));
      }, pingMs);
      // A stream must never keep a process alive on its own (Node, Bun and Deno all have unref).
      (ping as { unref?: () => void }).unref?.();
      signal?.addEventListener('abort', stop, { once: true });
    },
    async pull(controller) {
      let next: IteratorResult<StreamItem>;
      try {
        next = await items.next();
      } catch {
        // The task is gone (no longer retained) or the backend is unreachable: end the stream;
        // a client reconnects with its last id and is told what became of the task.
        finish();
        controller.close();
        return;
      }
      if (done) return;
      if (next.done === true) {
        finish();
        controller.close();
        return;
      }
      controller.enqueue(encoder.encode(streamFrame(next.value)));
      if (next.value.type === 'end') {
        finish();
        controller.close();
      }
    },
    cancel() {
      stop();
    },
  });
  return new Response(body, { status: 200, headers: SSE_HEADERS });
}
