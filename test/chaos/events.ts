// An event-stream client that keeps every event of a scenario (GET /v1/events, read as fast
// as they come), so that the end of the scenario can check each failure was visible.

/** One event of the stream: its topic and its data. */
export interface SeenEvent {
  event: string;
  // biome-ignore lint/suspicious/noExplicitAny: event data is checked field by field.
  data: any;
}

/** A stream being read; `close()` ends it and resolves with every event seen. */
export interface Recording {
  events: SeenEvent[];
  /** True once the server ended the stream (a `switchboard.dropped`, a shutdown). */
  ended(): boolean;
  close(): Promise<SeenEvent[]>;
}

/** Opens `GET /v1/events?topics=…` and records every event until closed. */
export async function record(base: string, topics: string): Promise<Recording> {
  const abort = new AbortController();
  const res = await fetch(`${base}/v1/events?topics=${encodeURIComponent(topics)}`, {
    signal: abort.signal,
  });
  if (res.status !== 200 || res.body === null) throw new Error(`events: ${res.status}`);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  const events: SeenEvent[] = [];
  let ended = false;
  const reading = (async () => {
    let buffer = '';
    try {
      for (;;) {
        const chunk = await reader.read();
        if (chunk.done) break;
        buffer += decoder.decode(chunk.value, { stream: true });
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event !== undefined && data !== undefined)
            events.push({ event, data: JSON.parse(data) });
        }
      }
      ended = true;
    } catch {
      // Aborted by close(): the events read so far are the recording.
    }
  })();
  return {
    events,
    ended: () => ended,
    async close() {
      abort.abort();
      await reading;
      return events;
    },
  };
}
