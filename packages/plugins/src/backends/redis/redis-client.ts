import { SwitchboardError } from '@switchboard/core';
import { Redis, type RedisOptions } from 'ioredis';
import type { ResolvedRedisOptions } from './redis-options.js';

/** The role of one of the two connections a backend opens. */
export type ClientRole = 'command' | 'subscriber';

/**
 * A connection to the server, not yet connected (`open` connects it). Every command fails
 * fast while the server is unreachable (no offline queue, no resend after a reconnect) so the
 * backend can answer `unavailable` at once instead of queueing work nobody acknowledged, and
 * the connection keeps reconnecting with jittered exponential backoff in the background.
 */
export function createClient(o: ResolvedRedisOptions, role: ClientRole): Redis {
  const options: Omit<RedisOptions, 'replyMapping'> & { replyMapping: 'legacy' } = {
    ...o.redis,
    // Scripts answer flat arrays the codec reads; RESP3 maps would reshape them.
    replyMapping: 'legacy',
    lazyConnect: true,
    enableOfflineQueue: false,
    // 0: a command in flight when the connection drops rejects at once rather than waiting
    // for a reconnect; it may have run, which complete and fail account for.
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    // The backend subscribes again itself after a reconnection (redis-link.ts): ioredis's own
    // resubscription leaves its promise unhandled, and without an offline queue it rejects
    // when the connection drops again before the command is written.
    autoResubscribe: false,
    connectTimeout: o.connectTimeoutMs,
    connectionName: `switchboard-${role}`,
    retryStrategy: (times) => {
      const ceiling = Math.min(o.maxReconnectDelayMs, 50 * 2 ** Math.min(times, 16));
      return Math.round(ceiling * (0.5 + Math.random() / 2));
    },
  };
  if (role === 'command') {
    options.commandTimeout = o.commandTimeoutMs;
    // Commands are written as they come and answered in order, so concurrent calls already
    // share the connection without waiting on each other. Auto-pipelining is off: in ioredis
    // 6.0.0 it spreads a command's arguments onto the stack (a large enqueue overflows it)
    // and can throw an uncaught TypeError when the connection drops mid-exec.
    options.enableAutoPipelining = false;
  }
  return o.url === undefined
    ? new Redis({ host: o.host, port: o.port, ...options })
    : new Redis(o.url, options);
}

/**
 * Resolves once `client` is ready; `unavailable` after `timeoutMs`, naming `address` and the
 * last connection error, so that a server that is not there says where it was looked for.
 */
export async function whenReady(client: Redis, timeoutMs: number, address: string): Promise<void> {
  if (client.status === 'ready') return;
  if (client.status === 'wait' || client.status === 'end') {
    // Failures also arrive as 'error' events and retries; the wait below decides.
    client.connect().catch(() => undefined);
  }
  let last: string | undefined;
  const heard = (err: Error) => {
    last = err.message;
  };
  await new Promise<void>((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      client.off('ready', done);
      client.off('error', heard);
      resolve();
    };
    const timer = setTimeout(() => {
      client.off('ready', done);
      client.off('error', heard);
      const why = last === undefined ? '' : ` (${last})`;
      reject(
        new SwitchboardError(
          'unavailable',
          `[redis] no answer from ${address} in ${timeoutMs} ms${why}`,
          { details: { address } },
        ),
      );
    }, timeoutMs);
    client.on('ready', done);
    client.on('error', heard);
  });
}

/** Closes a connection: gracefully when it is up (pending replies arrive), else at once. */
export async function shutdown(client: Redis): Promise<void> {
  if (client.status === 'ready') {
    try {
      await client.quit();
      return;
    } catch {
      // The server went away mid-quit: dropping the socket below is all that is left to do.
    }
  }
  client.disconnect();
}

// Replies meaning the server is there but cannot serve right now (restarting, a failover).
const TRANSIENT = new Set(['LOADING', 'BUSY', 'MASTERDOWN', 'TRYAGAIN', 'READONLY', 'CLUSTERDOWN']);

/** A script's error reply: its first word and the rest, or `undefined` for other errors. */
export function replyOf(err: unknown): { code: string; text: string } | undefined {
  if (!(err instanceof Error) || err.name !== 'ReplyError') return undefined;
  const space = err.message.indexOf(' ');
  return space < 0
    ? { code: err.message, text: '' }
    : { code: err.message.slice(0, space), text: err.message.slice(space + 1) };
}

/** Whether `err` says the server could not be reached or could not answer. */
export function isOutage(err: unknown): boolean {
  const reply = replyOf(err);
  if (reply !== undefined) return TRANSIENT.has(reply.code);
  // Connection errors come in many shapes (refused, reset, closed, timed out, not writable);
  // a bug of ours does not, and retrying it would not help.
  return !(
    err instanceof SwitchboardError ||
    err instanceof TypeError ||
    err instanceof RangeError
  );
}

/** `unavailable` (retryable) for an outage, carrying the original error. */
export function outage(op: string, err: unknown): SwitchboardError {
  const reason = err instanceof Error ? err.message : String(err);
  return new SwitchboardError('unavailable', `[redis] ${op} failed: ${reason}`, { cause: err });
}
