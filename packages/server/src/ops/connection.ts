import { createClient, type SwitchboardClient } from '@switchboard/client';
import { isSwitchboardError } from '@switchboard/core';
import type { Output } from './output.js';

/**
 * The exit codes of the operator commands (docs/cli.md): 0 done; 1 the server answered with
 * an error (not found, conflict, forbidden…) or a waited-for task did not complete; 2 a usage
 * error (unknown command or option, a bad value); 3 the server could not be reached.
 */
export const EXIT = { ok: 0, refused: 1, usage: 2, unreachable: 3 } as const;

/** A failure of an operator command: the line to print and the exit code it means. */
export class OpsError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'OpsError';
  }
}

/** Where the commands go: the server's base URL and the bearer token, if any. */
export interface Target {
  readonly url: string;
  readonly token?: string;
}

/** The default server, the one `switchboard serve` listens on. */
export const DEFAULT_URL = 'http://127.0.0.1:8787';

/**
 * The target from `--url` and `--token`, else `SWITCHBOARD_URL` and `SWITCHBOARD_TOKEN`,
 * else the local default server without a token. A URL that is not http(s) is a usage error.
 */
export function resolveTarget(
  flags: { url?: string; token?: string },
  env: Record<string, string | undefined>,
): Target {
  const url = flags.url ?? (env.SWITCHBOARD_URL || DEFAULT_URL);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new OpsError(`--url: ${JSON.stringify(url)} is not a URL`, EXIT.usage);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new OpsError(`--url: ${JSON.stringify(url)} is not an http(s) URL`, EXIT.usage);
  }
  const token = flags.token ?? (env.SWITCHBOARD_TOKEN || undefined);
  return token === undefined ? { url } : { url, token };
}

// A call that gets no answer within this long counts as the server being unreachable.
const CALL_TIMEOUT_MS = 30_000;

/** The typed client of `target`. */
export function connect(target: Target): SwitchboardClient {
  const options = { baseUrl: target.url, timeoutMs: CALL_TIMEOUT_MS };
  return createClient(target.token === undefined ? options : { ...options, token: target.token });
}

/**
 * What a failed call means for the operator: the server's error answer (exit 1, with a hint
 * for a missing or refused token), no answer at all (exit 3, naming the URL tried), or an
 * answer that is not the Switchboard API (exit 1). Anything else is a bug and is thrown on.
 */
export function explain(error: unknown, target: Target): OpsError {
  if (isSwitchboardError(error)) {
    const status = (error.details as { status?: unknown } | undefined)?.status;
    if (typeof status === 'number') {
      const hint =
        status === 401
          ? ' (pass --token or set SWITCHBOARD_TOKEN)'
          : status === 403
            ? ' (this token may not call it)'
            : '';
      return new OpsError(`${error.code} (HTTP ${status}): ${error.message}${hint}`, EXIT.refused);
    }
    if (error.code === 'timeout') return unreachable(target, error.message);
  }
  if (error instanceof TypeError) {
    const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
    const why =
      typeof cause?.code === 'string' ? cause.code : String(cause?.message ?? error.message);
    return unreachable(target, why);
  }
  if (error instanceof SyntaxError) {
    return new OpsError(
      `the server at ${target.url} answered something that is not the Switchboard API (${error.message})`,
      EXIT.refused,
    );
  }
  throw error;
}

function unreachable(target: Target, why: string): OpsError {
  return new OpsError(
    `cannot reach the server at ${target.url}: ${why} (is it running? --url or SWITCHBOARD_URL picks another)`,
    EXIT.unreachable,
  );
}

/** What a command runs with: the client of its target, the target, and where to print. */
export interface OpsContext {
  readonly client: SwitchboardClient;
  readonly target: Target;
  readonly out: Output;
}
