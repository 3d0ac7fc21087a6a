// The HTTP API of @switchboard/server (docs/http.md) served from the Workers runtime. One
// Durable Object holds a Switchboard and the server's Hono app, and the Worker hands every
// request to it, so that tasks, agents and leases outlive the request that made them: remote
// workers (`createWorker` of @switchboard/client) lease tasks from it over HTTP as from any
// server, and its own in-process agents run beside them.
//
// Its backend is the object's own storage (@switchboard/plugins/durable-object): what is
// queued, leased or registered is written there before it is acknowledged, and a new object
// reads it back after the runtime evicted the old one (idle, a deploy, a restart). While
// tasks wait, an alarm brings the object back to run them (docs/edge.md).
// A Worker's URL is public, so it serves nothing until a token is set (`npx wrangler secret
// put SWITCHBOARD_ADMIN_TOKEN`, or .dev.vars for `wrangler dev`), unless told to serve it
// open (SWITCHBOARD_ALLOW_UNAUTHENTICATED=true), as `switchboard serve` on a public host.
import {
  checkKnownKeys,
  createSwitchboard,
  defineAgent,
  SwitchboardError,
} from '@switchboard/core';
import {
  createDurableObjectBackend,
  type DurableObjectBackend,
  type DurableObjectStorageLike,
} from '@switchboard/plugins/durable-object';
import {
  createApp,
  type HttpRateLimits,
  Lifecycle,
  type SwitchboardApp,
  type TokenConfig,
} from '@switchboard/server';

/** The Durable Object namespace binding, as much of it as this Worker uses. */
interface Namespace {
  idFromName(name: string): unknown;
  get(id: unknown): { fetch(request: Request): Promise<Response> };
}

/** As much of the object's state (`ctx`) as the Worker uses: its storage and its alarm. */
interface ObjectState {
  storage: DurableObjectStorageLike & {
    getAlarm(): Promise<number | null>;
    setAlarm(at: number): Promise<void>;
  };
}

// While tasks are queued, leased or delayed, the object sets an alarm this far ahead (unless
// SWITCHBOARD_WAKE_MS says otherwise), so that the runtime brings it back to run them (and to
// expire leases) if it evicts it meanwhile.
const WAKE_MS = 30_000;

/** The Worker's bindings: the object's namespace, secrets and variables (docs/edge.md). */
interface Env {
  SWITCHBOARD: Namespace;
  SWITCHBOARD_ADMIN_TOKEN?: string;
  SWITCHBOARD_CLIENT_TOKEN?: string;
  SWITCHBOARD_AGENT_TOKEN?: string;
  SWITCHBOARD_HEARTBEAT_TIMEOUT_MS?: string;
  SWITCHBOARD_MAX_BODY_BYTES?: string;
  /** How far ahead the object's alarm is set while tasks wait. */
  SWITCHBOARD_WAKE_MS?: string;
  /** JSON, as the config file's `rateLimits` of `switchboard serve`. */
  SWITCHBOARD_RATE_LIMITS?: string;
  /** `true` serves the API without a token, as `--allow-unauthenticated` does. */
  SWITCHBOARD_ALLOW_UNAUTHENTICATED?: string;
}

/** Upper-cases a text, in the object itself. */
const shout = defineAgent({
  name: 'shout',
  capabilities: [{ name: 'shout', version: '1' }],
  config: { maxConcurrency: 4 },
  async handle(payload: { text: string }) {
    return { text: String(payload.text).toUpperCase() };
  },
});

/** Answers after `ms`: a task whose timeoutMs is shorter loses its lease first. */
const slow = defineAgent({
  name: 'slow',
  capabilities: [{ name: 'slow', version: '1' }],
  async handle(payload: { ms: number }) {
    await new Promise((resolve) => setTimeout(resolve, payload.ms));
    return { waitedMs: payload.ms };
  },
});

function tokensOf(env: Env): TokenConfig {
  const tokens: TokenConfig = {};
  if (env.SWITCHBOARD_ADMIN_TOKEN) tokens.admin = env.SWITCHBOARD_ADMIN_TOKEN;
  if (env.SWITCHBOARD_CLIENT_TOKEN) tokens.client = env.SWITCHBOARD_CLIENT_TOKEN;
  if (env.SWITCHBOARD_AGENT_TOKEN) tokens.agent = env.SWITCHBOARD_AGENT_TOKEN;
  return tokens;
}

/** A whole number of `key` from 1 to `max`, or undefined when it is not set. */
function integerOf(env: Env, key: keyof Env, max: number): number | undefined {
  const value = env[key];
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) {
    throw bad(`${key} must be a whole number from 1 to ${max}, got ${JSON.stringify(value)}`);
  }
  return n;
}

function bad(message: string, cause?: unknown): SwitchboardError {
  return new SwitchboardError('invalid_config', message, cause === undefined ? {} : { cause });
}

/** `value` as an object with only `known` keys, or what is wrong with it. */
function objectOf(value: unknown, path: string, known: readonly string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw bad(`${path} must be an object with ${known.join(', ')}`);
  }
  checkKnownKeys(value, known, path, 'key');
  return value as Record<string, unknown>;
}

/** The rate limits of `SWITCHBOARD_RATE_LIMITS` (the config file's `rateLimits`, as JSON). */
function rateLimitsOf(env: Env): HttpRateLimits | undefined {
  const text = env.SWITCHBOARD_RATE_LIMITS;
  if (text === undefined || text === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw bad('SWITCHBOARD_RATE_LIMITS must be JSON', cause);
  }
  const limits = objectOf(value, 'SWITCHBOARD_RATE_LIMITS', ['perIp', 'perToken']);
  for (const [name, bucket] of Object.entries(limits)) {
    const path = `SWITCHBOARD_RATE_LIMITS.${name}`;
    const b = objectOf(bucket, path, ['capacity', 'refillPerSec', 'maxKeys']);
    for (const key of ['capacity', 'refillPerSec']) {
      if (typeof b[key] !== 'number' || !(b[key] > 0)) {
        throw bad(`${path}.${key} must be a positive number, got ${JSON.stringify(b[key])}`);
      }
    }
  }
  return limits as HttpRateLimits;
}

/** What the object serves: the app, its backend, and the start that reads the stored state. */
interface Served {
  app: SwitchboardApp;
  backend: DurableObjectBackend;
  started: Promise<void>;
  wakeMs: number;
}

/** The object's Switchboard and app, made from its bindings; throws what is wrong with them. */
function serve(state: ObjectState, env: Env): Served {
  const tokens = tokensOf(env);
  if (Object.keys(tokens).length === 0 && env.SWITCHBOARD_ALLOW_UNAUTHENTICATED !== 'true') {
    throw bad(
      'no token is set: set SWITCHBOARD_ADMIN_TOKEN (npx wrangler secret put SWITCHBOARD_ADMIN_TOKEN) before serving the API, or SWITCHBOARD_ALLOW_UNAUTHENTICATED=true to serve it open',
    );
  }
  const heartbeatTimeoutMs = integerOf(env, 'SWITCHBOARD_HEARTBEAT_TIMEOUT_MS', 86_400_000);
  const maxBodyBytes = integerOf(env, 'SWITCHBOARD_MAX_BODY_BYTES', 1024 ** 3);
  const wakeMs = integerOf(env, 'SWITCHBOARD_WAKE_MS', 86_400_000) ?? WAKE_MS;
  const rateLimits = rateLimitsOf(env);
  const backend = createDurableObjectBackend({ storage: state.storage });
  const sb = createSwitchboard({
    backend,
    agents: [
      { definition: shout, min: 1 },
      { definition: slow, min: 1 },
    ],
    // As `switchboard serve` does: a third of the timeout between heartbeats.
    ...(heartbeatTimeoutMs === undefined
      ? {}
      : {
          heartbeatTimeoutMs,
          heartbeatIntervalMs: Math.max(1, Math.floor(heartbeatTimeoutMs / 3)),
        }),
  });
  const lifecycle = new Lifecycle('starting');
  const app = createApp(sb, {
    tokens,
    lifecycle,
    ...(maxBodyBytes === undefined ? {} : { maxBodyBytes }),
    ...(rateLimits === undefined ? {} : { rateLimits }),
  });
  // start() opens the backend, which reads the tasks and agents the object stored before.
  return { app, backend, wakeMs, started: sb.start().then(() => lifecycle.ready()) };
}

/** The Durable Object: one Switchboard and its HTTP API, its state in the object's storage. */
export class SwitchboardHub {
  readonly #state: ObjectState;
  readonly #served: Served | SwitchboardError;

  constructor(state: ObjectState, env: Env) {
    this.#state = state;
    try {
      this.#served = serve(state, env);
    } catch (err) {
      if (!(err instanceof SwitchboardError)) throw err;
      // Answered to every request, so that a deploy with a bad binding says what is wrong.
      this.#served = err;
    }
  }

  async fetch(request: Request): Promise<Response> {
    if (this.#served instanceof SwitchboardError) {
      const { message } = this.#served;
      return Response.json({ error: { code: 'unavailable', message } }, { status: 503 });
    }
    await this.#served.started;
    // The body is read to its end before the app answers: workerd (as miniflare runs it)
    // resets the connection of a request answered with its body unread (a 404 for an unknown
    // agent, say), and a client that reuses the connection sees the reset on its next request.
    // The Workers platform bounds a request's body (by plan) before it gets here.
    const body = request.body === null ? null : await request.arrayBuffer();
    const response = await this.#served.app.fetch(
      body === null ? request : new Request(request, { body }),
    );
    await this.#wake(this.#served);
    return response;
  }

  /** The runtime calls it at the alarm's time, in a new object if it evicted the old one. */
  async alarm(): Promise<void> {
    if (this.#served instanceof SwitchboardError) return;
    await this.#served.started;
    await this.#wake(this.#served);
  }

  /** Sets the alarm while tasks wait, so that an eviction does not leave them waiting. */
  async #wake({ backend, wakeMs }: Served): Promise<void> {
    const { depth, leased, delayed } = await backend.stats();
    if (depth + leased + delayed === 0) return;
    const { storage } = this.#state;
    if ((await storage.getAlarm()) === null) await storage.setAlarm(Date.now() + wakeMs);
  }
}

export default {
  fetch(request: Request, env: Env): Promise<Response> {
    return env.SWITCHBOARD.get(env.SWITCHBOARD.idFromName('switchboard')).fetch(request);
  },
};
