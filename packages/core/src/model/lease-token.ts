// The RFC 4648 §5 (base64url) alphabet, kept as char codes so that a token is built by one
// fromCharCode call.
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const CODE = new Uint8Array(64);
for (let i = 0; i < 64; i++) CODE[i] = ALPHABET.charCodeAt(i);

// getRandomValues accepts at most 65,536 bytes a call, and one call fills the pool for 4,096
// tokens. The fixed cost of a call is thus shared by all of them, and a token drawn from the
// pool is much cheaper than one that makes a call of its own (see bench/RESULTS.md, Figures
// quoted in code comments before).
const POOL_BYTES = 65_536;
const TOKEN_BYTES = 16;
const pool = new Uint8Array(POOL_BYTES);
let offset = POOL_BYTES;

/** The length of a lease token: 128 random bits in unpadded base64url. */
export const LEASE_TOKEN_LENGTH = 22;

/**
 * A fresh, unguessable lease token: 128 bits from `crypto.getRandomValues`, as 22
 * base64url characters (`[A-Za-z0-9_-]`). Random bytes are drawn from a pool refilled in
 * bulk, and each byte is used once.
 *
 * @example
 * ```ts
 * const token = createLeaseToken() // 'kQNFxMS8ml4ucjzoRXamDQ'
 * ```
 */
export function createLeaseToken(): string {
  if (offset + TOKEN_BYTES > POOL_BYTES) {
    crypto.getRandomValues(pool);
    offset = 0;
  }
  const p = pool;
  const o = offset;
  offset = o + TOKEN_BYTES;
  // Five 24-bit groups give 20 characters; the 16th byte gives the last two (8 bits used,
  // the final character carries 2 bits followed by 4 zero bits, as base64 encodes a tail).
  const a = (p[o] << 16) | (p[o + 1] << 8) | p[o + 2];
  const b = (p[o + 3] << 16) | (p[o + 4] << 8) | p[o + 5];
  const c = (p[o + 6] << 16) | (p[o + 7] << 8) | p[o + 8];
  const d = (p[o + 9] << 16) | (p[o + 10] << 8) | p[o + 11];
  const e = (p[o + 12] << 16) | (p[o + 13] << 8) | p[o + 14];
  const f = p[o + 15];
  return String.fromCharCode(
    CODE[a >>> 18],
    CODE[(a >>> 12) & 63],
    CODE[(a >>> 6) & 63],
    CODE[a & 63],
    CODE[b >>> 18],
    CODE[(b >>> 12) & 63],
    CODE[(b >>> 6) & 63],
    CODE[b & 63],
    CODE[c >>> 18],
    CODE[(c >>> 12) & 63],
    CODE[(c >>> 6) & 63],
    CODE[c & 63],
    CODE[d >>> 18],
    CODE[(d >>> 12) & 63],
    CODE[(d >>> 6) & 63],
    CODE[d & 63],
    CODE[e >>> 18],
    CODE[(e >>> 12) & 63],
    CODE[(e >>> 6) & 63],
    CODE[e & 63],
    CODE[f >>> 2],
    CODE[(f & 3) << 4],
  );
}
