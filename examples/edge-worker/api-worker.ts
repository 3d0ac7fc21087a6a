// The HTTP API of @switchboard/server (docs/http.md) served from the Workers runtime. One
// Durable Object holds a Switchboard and the server's Hono app, and the Worker hands every
// request to it, so that tasks, agents and leases outlive the request that made them: remote
// workers (`createWorker` of @switchboard/client) lease tasks from it over HTTP as from any
// server, and its own in-process agents run beside them.
//
// Its backend is the memory backend: what is queued or leased lives as long as the object
// stays in memory, and is lost when the runtime evicts it (docs/edge.md says what is left).
// Auth is always on: a Worker's URL is public, so it serves nothing until a token is set
// (`npx wrangler secret put SWITCHBOARD_ADMIN_TOKEN`, or .dev.vars for `wrangler dev`).
import { createSwitchboard, defineAgent } from '@switchboard/core';
import { createApp, Lifecycle, type SwitchboardApp, type TokenConfig } from '@switchboard/server';

/** The Durable Object namespace binding, as much of it as this Worker uses. */
interface Namespace {
  idFromName(name: string): unknown;
  get(id: unknown): { fetch(request: Request): Promise<Response> };
}

interface Env {
  SWITCHBOARD: Namespace;
  SWITCHBOARD_ADMIN_TOKEN?: string;
  SWITCHBOARD_CLIENT_TOKEN?: string;
  SWITCHBOARD_AGENT_TOKEN?: string;
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

/** The Durable Object: one Switchboard and its HTTP API, for as long as it stays in memory. */
export class SwitchboardHub {
  readonly #app: SwitchboardApp | undefined;
  readonly #started: Promise<void>;

  constructor(_state: unknown, env: Env) {
    const tokens = tokensOf(env);
    if (Object.keys(tokens).length === 0) {
      this.#started = Promise.resolve();
      return;
    }
    const sb = createSwitchboard({
      agents: [
        { definition: shout, min: 1 },
        { definition: slow, min: 1 },
      ],
    });
    const lifecycle = new Lifecycle('starting');
    this.#app = createApp(sb, { tokens, lifecycle });
    this.#started = sb.start().then(() => lifecycle.ready());
  }

  async fetch(request: Request): Promise<Response> {
    if (this.#app === undefined) {
      const message =
        'no token is set: set SWITCHBOARD_ADMIN_TOKEN (npx wrangler secret put SWITCHBOARD_ADMIN_TOKEN) before serving the API';
      return Response.json({ error: { code: 'unavailable', message } }, { status: 503 });
    }
    await this.#started;
    return this.#app.fetch(request);
  }
}

export default {
  fetch(request: Request, env: Env): Promise<Response> {
    return env.SWITCHBOARD.get(env.SWITCHBOARD.idFromName('switchboard')).fetch(request);
  },
};
