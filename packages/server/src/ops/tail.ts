import process from 'node:process';
import type { StreamEvent } from '@switchboard/client';
import { EXIT, explain, type OpsContext } from './connection.js';

/** The options of `switchboard tail`. */
export interface TailOptions {
  /** Exit after this many events. */
  count?: number;
}

/**
 * One event as a line: its time (UTC), topic, and its fields as `key=value`, strings bare
 * and anything else as JSON.
 */
export function eventLine(event: StreamEvent): string {
  const { topic, at, eventId: _id, ...fields } = event;
  const time = new Date(at).toISOString().slice(11, 23);
  const pairs = Object.entries(fields).map(
    ([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`,
  );
  return [time, topic.padEnd(16), ...pairs].join('  ').trimEnd();
}

/**
 * `switchboard tail [topics…]`: prints live events as they come (JSON lines with `--json`)
 * until SIGINT or SIGTERM, or `--count` events. The stream reconnects by itself once it has
 * been up, so the server is first asked for `/healthz`: an unreachable one is exit 3 at once
 * rather than a silent wait.
 */
export async function tail(
  ctx: OpsContext,
  topics: readonly string[],
  options: TailOptions,
): Promise<number> {
  try {
    const res = await fetch(`${ctx.target.url.replace(/\/+$/, '')}/healthz`);
    await res.body?.cancel();
  } catch (err) {
    throw explain(err, ctx.target);
  }
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const patterns = topics.flatMap((t) => t.split(',')).filter((t) => t !== '');
  if (!ctx.out.json) {
    const what = patterns.length === 0 ? 'every topic' : patterns.join(', ');
    ctx.out.error(`switchboard: following ${what} at ${ctx.target.url}; Ctrl-C stops`);
  }
  let seen = 0;
  try {
    for await (const event of ctx.client.events({ topics: patterns, signal: stop.signal })) {
      ctx.out.line(ctx.out.json ? JSON.stringify(event) : eventLine(event));
      if (options.count !== undefined && ++seen >= options.count) break;
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return EXIT.ok;
}
