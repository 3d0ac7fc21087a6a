import { expect } from 'vitest';

/** Settings of one server under test (the config-file shape of `switchboard serve`). */
export interface E2EConfig {
  tokens?: { admin?: string; client?: string; agent?: string };
  heartbeatTimeoutMs?: number;
  maxBodyBytes?: number;
  drainTimeoutMs?: number;
  rateLimits?: { perIp?: { capacity: number; refillPerSec: number } };
}

/** A server started for a suite: its base URL and how to stop it. */
export interface StartedServer {
  url: string;
  stop(): Promise<void>;
}

/** Starts a server with a config on a free port of 127.0.0.1. */
export type ServerFactory = (config: E2EConfig) => Promise<StartedServer>;

/** An answer: status, headers and the parsed JSON body (undefined when empty). */
export interface Answer {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: answers are checked field by field in tests.
  body: any;
}

/** Tokens of the main server of the suite. */
export const TOKENS = {
  admin: 'admin-secret-1',
  client: 'client-secret-1',
  agent: 'agent-secret-1',
};

/** A fetch helper bound to a base URL; `token` defaults to admin. */
export function http(base: () => string) {
  return async (
    method: string,
    path: string,
    options: {
      body?: unknown;
      raw?: BodyInit;
      token?: string | null;
      headers?: Record<string, string>;
    } = {},
  ): Promise<Answer> => {
    const headers: Record<string, string> = { ...options.headers };
    const token = options.token === undefined ? TOKENS.admin : options.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    const init: RequestInit & { duplex?: 'half' } = { method, headers };
    if (options.raw !== undefined) init.body = options.raw;
    else if (options.body !== undefined) {
      headers['content-type'] ??= 'application/json';
      init.body = JSON.stringify(options.body);
    }
    if (init.body instanceof ReadableStream) init.duplex = 'half';
    const res = await fetch(`${base()}${path}`, init);
    const type = res.headers.get('content-type') ?? '';
    const text = await res.text();
    const body =
      text !== '' && type.includes('json') ? JSON.parse(text) : text === '' ? undefined : text;
    return { status: res.status, headers: res.headers, body };
  };
}

/** Asserts an error answer of API.md: the status and `{"error": {"code", "message"}}`. */
export function expectError(answer: Answer, status: number, code: string): void {
  expect({ status: answer.status, code: answer.body?.error?.code }).toEqual({ status, code });
  expect(typeof answer.body.error.message).toBe('string');
}

/** Reads server-sent events from a stream until `until` says stop or `timeoutMs` passes. */
export async function readEvents(
  res: Response,
  until: (events: { event: string; data: Record<string, unknown> }[]) => boolean,
  timeoutMs = 3000,
): Promise<{ event: string; data: Record<string, unknown> }[]> {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const events: { event: string; data: Record<string, unknown> }[] = [];
  let buffer = '';
  const deadline = Date.now() + timeoutMs;
  try {
    while (!until(events) && Date.now() < deadline) {
      const chunk = await Promise.race([
        reader.read(),
        new Promise<{ done: true; value: undefined }>((r) =>
          setTimeout(() => r({ done: true, value: undefined }), deadline - Date.now()),
        ),
      ]);
      if (chunk.done) break;
      buffer += decoder.decode(chunk.value, { stream: true });
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event !== undefined && data !== undefined)
          events.push({ event, data: JSON.parse(data) });
        end = buffer.indexOf('\n\n');
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return events;
}

/** Opens an event stream and waits for its first line, so that the subscription is live. */
export async function openEvents(
  base: string,
  topics: string | undefined,
  token: string,
): Promise<Response> {
  const query = topics === undefined ? '' : `?topics=${encodeURIComponent(topics)}`;
  const res = await fetch(`${base}/v1/events${query}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  return res;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
