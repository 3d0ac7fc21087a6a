import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { HotAnswer, HotHeader, HotRequest, HotRoutes } from './hot-routes.js';
import { MAX_DISCARD_BYTES, tooLarge, unreadable } from './read-body.js';

// The Host values `@hono/node-server` takes as they are (its src/url.ts); any other goes
// through its URL parsing and checks, so such a request is left to it.
const PLAIN_HOST = /^[a-z0-9._-]+(?::(?:[1-5]\d{3,4}|[6-9]\d{3}))?$/;
const DIGITS = /^\d+$/;
const EMPTY = new Uint8Array(0);
const resolved = Promise.resolve();

/** `Headers.get`'s whitespace rule, as `@hono/node-server` applies it. */
const trim = (value: string) => value.replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, '');

/** The three headers `Headers.get` joins with `, ` when repeated, from one pass over the raw list. */
interface Joined {
  authorization: string | null;
  'content-type': string | null;
  'content-length': string | null;
}

function joinedHeaders(raw: readonly string[]): Joined {
  const out: Joined = { authorization: null, 'content-type': null, 'content-length': null };
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    // The length is compared first: most headers are none of the three, and lower-casing a
    // name is not free.
    const n = name.length;
    if (n !== 12 && n !== 13 && n !== 14) continue;
    const lower = name.toLowerCase();
    if (lower !== 'authorization' && lower !== 'content-type' && lower !== 'content-length') {
      continue;
    }
    const value = trim(raw[i + 1] as string);
    const seen = out[lower];
    out[lower] = seen === null ? value : `${seen}, ${value}`;
  }
  return out;
}

/**
 * Reads a body whose length was declared and is within the limit: at once when all of it is
 * buffered (the usual case for a small body, which came in the same read as its headers),
 * else as it streams in. Like `@hono/node-server`, a body received in full is kept even if
 * the client hangs up right after sending it.
 */
function readDeclared(incoming: IncomingMessage, length: number): Uint8Array | Promise<Uint8Array> {
  // HTTP framing: the message is exactly `length` bytes of body, so once that many are
  // buffered they are the whole body (the parser marks it complete right after).
  if (incoming.readableLength === length && !incoming.readableDidRead && !incoming.destroyed) {
    return (incoming.read() as Buffer | null) ?? EMPTY;
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const settle = (error?: unknown) => {
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onError);
      incoming.off('close', onClose);
      if (error !== undefined && !(incoming.complete && size === length)) {
        reject(unreadable(error));
      } else resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.byteLength;
    };
    const onEnd = () => settle();
    const onError = (err: unknown) => settle(err);
    const onClose = () =>
      settle(
        incoming.readableEnded ? undefined : new Error('Client connection prematurely closed.'),
      );
    incoming.on('data', onData);
    incoming.on('end', onEnd);
    incoming.on('error', onError);
    incoming.on('close', onClose);
    if (incoming.destroyed) onClose();
  });
}

/**
 * Reads an oversized body of declared `length` to its end and throws it away, then fails with
 * the 413, as `readBody` does (see `MAX_DISCARD_BYTES`): a client that is still sending when
 * the answer comes would otherwise have its connection reset, and lose the answer with it.
 */
function discardDeclared(incoming: IncomingMessage, length: number, limit: number): Promise<never> {
  if (length - limit > MAX_DISCARD_BYTES) return Promise.reject(tooLarge(limit, true));
  return new Promise((_, reject) => {
    const settle = (closing: boolean) => {
      incoming.off('end', onEnd);
      incoming.off('close', onClose);
      incoming.off('error', onError);
      reject(tooLarge(limit, closing));
    };
    const onEnd = () => settle(false);
    const onClose = () => settle(!incoming.readableEnded);
    // The client went away while sending: no one will read this answer anyway.
    const onError = () => settle(true);
    incoming.on('end', onEnd);
    incoming.on('close', onClose);
    incoming.on('error', onError);
    // Flowing with no 'data' listener: Node reads the chunks and drops them.
    incoming.resume();
    if (incoming.readableEnded) onEnd();
    else if (incoming.destroyed) onClose();
  });
}

/** An `IncomingMessage` as a {@link HotRequest}, headers read from the raw list. */
function hotRequest(incoming: IncomingMessage, joined: Joined, length: number): HotRequest {
  return {
    ip: incoming.socket.remoteAddress ?? 'unknown',
    header: (name: HotHeader) => {
      if (name !== 'accept' && name !== 'traceparent' && name !== 'tracestate') {
        return joined[name];
      }
      // Node joins repeats of these with ', ', as Headers.get does (a repeated traceparent
      // is then invalid, as the W3C spec says it is).
      const value = incoming.headers[name];
      if (value === undefined) return null;
      return trim(Array.isArray(value) ? value.join(', ') : value);
    },
    body: (limit) => {
      if (length > limit) return discardDeclared(incoming, length, limit);
      return readDeclared(incoming, length);
    },
    request: () => {
      const headers = new Headers();
      const raw = incoming.rawHeaders;
      for (let i = 0; i < raw.length; i += 2)
        headers.append(raw[i] as string, raw[i + 1] as string);
      const url = `http://${incoming.headers.host}${incoming.url}`;
      return new Request(url, { method: 'POST', headers });
    },
  };
}

function write(outgoing: ServerResponse, answer: HotAnswer): void {
  const { body, headers } = answer;
  headers['content-length'] = String(
    typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength,
  );
  outgoing.writeHead(answer.status, headers);
  outgoing.end(body);
}

const fail = (outgoing: ServerResponse, err: unknown) =>
  outgoing.destroy(err instanceof Error ? err : new Error(String(err)));

/**
 * Writes answers together, once per event-loop turn (`setImmediate`: after every socket
 * that was ready has been read), rather than each as soon as it is ready. Under load, the
 * `writev` of an answer costs far more when it wakes an idle peer than when the peer is
 * already busy reading the answers before it. Written back to back, most answers are the
 * cheap kind, so the main thread's CPU per request went down, and p99 latency went down
 * with it, not up (see bench/RESULTS.md, HTTP, second pass). An idle server answers within
 * the same turn, so a lone request waits no longer.
 */
function batchedWriter(): (outgoing: ServerResponse, answer: HotAnswer) => void {
  let pending: (ServerResponse | HotAnswer)[] = [];
  const flush = () => {
    const list = pending;
    pending = [];
    for (let i = 0; i < list.length; i += 2) {
      const outgoing = list[i] as ServerResponse;
      try {
        write(outgoing, list[i + 1] as HotAnswer);
      } catch (err) {
        fail(outgoing, err);
      }
    }
  };
  return (outgoing, answer) => {
    if (pending.push(outgoing, answer) === 2) setImmediate(flush);
  };
}

/**
 * Node's request listener with the two submit routes served straight from the
 * `IncomingMessage`, ahead of `fallback` (`@hono/node-server`'s listener, which serves
 * everything else). Those two carry the load, and on Node the generic path costs them a web
 * `Request`, a copy of the body into a fresh `ArrayBuffer`, Hono's routing and context, and a
 * `Response` to turn back into a `ServerResponse`. The steps of the routes themselves are
 * the same code on both paths (`HotRoutes`), and answers are written in batches
 * (`batchedWriter`). Only a plain request is taken: exactly `POST /v1/tasks` or
 * `POST /v1/tasks/batch` (no query), with a Host that `@hono/node-server` takes as is and a
 * declared `Content-Length`. Anything else (chunked bodies included) goes to `fallback`
 * untouched.
 */
export function withHotRoutes(hot: HotRoutes, fallback: RequestListener): RequestListener {
  const answer = batchedWriter();
  return (incoming, outgoing) => {
    if (incoming.method !== 'POST') return fallback(incoming, outgoing);
    const url = incoming.url;
    const route = url === '/v1/tasks' ? hot.submit : url === '/v1/tasks/batch' ? hot.batch : null;
    const host = incoming.headers.host;
    if (route === null || host === undefined || !PLAIN_HOST.test(host)) {
      return fallback(incoming, outgoing);
    }
    const joined = joinedHeaders(incoming.rawHeaders);
    const declared = joined['content-length'];
    if (declared === null || !DIGITS.test(declared)) return fallback(incoming, outgoing);
    const request = hotRequest(incoming, joined, Number(declared));
    // One microtask later: a body that came in the same read as the headers has been parsed
    // by then, so it is read at once rather than through stream events.
    // (A resolved promise rather than queueMicrotask, which makes an async resource each call.)
    resolved
      .then(() => route(request))
      .then(
        (res) => answer(outgoing, res),
        // The routes answer every error themselves: one escaping is a bug in the answering.
        (err: unknown) => fail(outgoing, err),
      );
  };
}
