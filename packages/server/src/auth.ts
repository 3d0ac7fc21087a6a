import { SwitchboardError } from '@switchboard/core';

/** The scopes of docs/http.md: `admin` may call everything. */
export type Scope = 'admin' | 'client' | 'agent';

/** Configured tokens per scope; a scope may have several (for rotation). */
export type TokenConfig = Partial<Record<Scope, string | readonly string[]>>;

/** Who a request comes from, once authenticated. */
export interface Principal {
  scope: Scope;
  /** A stable, non-secret id of the token (its digest prefix), for per-token limits. */
  tokenId: string;
}

interface Entry {
  scope: Scope;
  digest: Uint8Array;
  tokenId: string;
}

const encoder = new TextEncoder();

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(text)));
}

function hex(bytes: Uint8Array, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += (bytes[i] as number).toString(16).padStart(2, '0');
  return out;
}

/** True when the two 32-byte digests are equal; takes the same time whatever they hold. */
function sameDigest(a: Uint8Array, b: Uint8Array): boolean {
  let diff = 0;
  for (let i = 0; i < 32; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}

/**
 * Bearer-token authentication. Tokens are compared as SHA-256 digests, so every comparison
 * has the same length, and the presented token is compared against every configured one
 * with no early exit: timing tells neither which token nor how many bytes matched.
 *
 * @example
 * ```ts
 * const auth = createAuth({ admin: process.env.SWITCHBOARD_ADMIN_TOKEN })
 * const who = await auth.authenticate(request.headers.get('authorization'))
 * ```
 */
export interface Auth {
  /** False when no token is configured: every request is admin. */
  readonly enabled: boolean;
  /**
   * The principal of an `Authorization` header.
   *
   * @throws SwitchboardError `unauthorized` when the token is missing or unknown.
   */
  authenticate(header: string | null): Promise<Principal>;
}

/** The principal of every request while auth is off. */
export const ANONYMOUS: Principal = { scope: 'admin', tokenId: 'anonymous' };

/** Builds the {@link Auth} of a token configuration (empty strings are ignored). */
export function createAuth(tokens: TokenConfig = {}): Auth {
  const configured: { scope: Scope; token: string }[] = [];
  for (const scope of ['admin', 'client', 'agent'] as const) {
    const value = tokens[scope];
    const list = value === undefined ? [] : typeof value === 'string' ? [value] : value;
    for (const token of list) if (token !== '') configured.push({ scope, token });
  }
  if (configured.length === 0) {
    return { enabled: false, authenticate: async () => ANONYMOUS };
  }
  const entries: Promise<Entry[]> = Promise.all(
    configured.map(async ({ scope, token }) => {
      const digest = await sha256(token);
      return { scope, digest, tokenId: `${scope}:${hex(digest, 6)}` };
    }),
  );
  return {
    enabled: true,
    async authenticate(header) {
      const match = header === null ? null : /^Bearer[ ]+(\S+)\s*$/i.exec(header);
      if (match === null) {
        throw new SwitchboardError('unauthorized', 'a bearer token is required');
      }
      const digest = await sha256(match[1] as string);
      let found: Entry | undefined;
      for (const entry of await entries) {
        // Every entry is compared, even after a match.
        if (sameDigest(digest, entry.digest) && found === undefined) found = entry;
      }
      if (found === undefined) throw new SwitchboardError('unauthorized', 'unknown token');
      return { scope: found.scope, tokenId: found.tokenId };
    },
  };
}

/**
 * Throws `forbidden` unless the principal's scope is admin or one of `allowed`.
 */
export function requireScope(principal: Principal, allowed: readonly Scope[]): void {
  if (principal.scope === 'admin' || allowed.includes(principal.scope)) return;
  throw new SwitchboardError(
    'forbidden',
    `the ${principal.scope} scope may not call this endpoint`,
  );
}
