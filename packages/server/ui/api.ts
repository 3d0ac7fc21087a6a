import { signal } from '@preact/signals';
import { createClient, type SwitchboardClient } from '@switchboard/client';
import { SwitchboardError } from '@switchboard/core';

/**
 * The API's base URL, derived from the page's own location: the page is served at
 * `<base>ui/`, so the API is one level up. Behind a proxy that adds a path prefix, the
 * prefix is part of the page's location and so of every call.
 */
export const apiBase = new URL('../', window.location.href).href;

const TOKEN_KEY = 'switchboard.token';

/** What the page may do: the scope of its token, found by asking the API (see {@link connect}). */
export type Access = 'admin' | 'client' | 'agent';

/** The session: signed in with a scope, or waiting for a token (and why). */
export type Session =
  | { kind: 'checking' }
  | {
      kind: 'signed-in';
      access: Access;
      authOn: boolean;
      client: SwitchboardClient;
    }
  | { kind: 'needs-token'; refused: boolean }
  | { kind: 'unreachable'; message: string };

export const session = signal<Session>({ kind: 'checking' });

/** The status of an error from the client, when it came from an answer of the server. */
export function statusOf(error: unknown): number | undefined {
  if (!(error instanceof SwitchboardError)) return undefined;
  const status = (error.details as { status?: unknown } | undefined)?.status;
  return typeof status === 'number' ? status : undefined;
}

/** One sentence for an operator about a failed call. */
export function describeError(error: unknown, what: string): string {
  const status = statusOf(error);
  const message = error instanceof Error ? error.message : String(error);
  if (status === 403) return `${what}: your token's scope does not allow it (${message}).`;
  if (status === 401) return `${what}: the token was refused; sign in again.`;
  if (status === undefined) return `${what}: the server could not be reached (${message}).`;
  return `${what}: ${message} (HTTP ${status}).`;
}

async function probe(client: SwitchboardClient): Promise<Access> {
  // The scopes of docs/http.md: stats need client (or admin), dead letters admin, and an agent
  // token has neither. Asking is the only way to learn a token's scope.
  try {
    await client.stats();
  } catch (error) {
    if (statusOf(error) === 403) return 'agent';
    throw error;
  }
  try {
    await client.deadLetters();
    return 'admin';
  } catch (error) {
    if (statusOf(error) === 403) return 'client';
    throw error;
  }
}

/**
 * Signs in with `token` (or the one kept for this tab, or none) and learns its scope. The
 * token is kept in `sessionStorage`: for this tab only, gone when it closes.
 */
export async function connect(token?: string): Promise<void> {
  const kept = token ?? sessionStorage.getItem(TOKEN_KEY) ?? undefined;
  const client = createClient(
    kept === undefined ? { baseUrl: apiBase } : { baseUrl: apiBase, token: kept },
  );
  session.value = { kind: 'checking' };
  try {
    const access = await probe(client);
    if (kept !== undefined) sessionStorage.setItem(TOKEN_KEY, kept);
    session.value = { kind: 'signed-in', access, authOn: kept !== undefined, client };
  } catch (error) {
    if (statusOf(error) === 401) {
      sessionStorage.removeItem(TOKEN_KEY);
      session.value = { kind: 'needs-token', refused: kept !== undefined };
    } else {
      session.value = { kind: 'unreachable', message: describeError(error, 'Connecting') };
    }
  }
}

/** Forgets the tab's token and asks for one again. */
export function signOut(): void {
  sessionStorage.removeItem(TOKEN_KEY);
  session.value = { kind: 'needs-token', refused: false };
}
