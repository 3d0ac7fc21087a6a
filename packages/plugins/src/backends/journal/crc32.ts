// IEEE 802.3 CRC-32 (reflected polynomial 0xEDB88320), the checksum of zlib, PNG and gzip,
// so a frame can be checked with any standard tool. It uses slicing-by-4 tables: taking four
// bytes per step makes it much faster than the one-table loop on the frame sizes the
// journal writes (see bench/RESULTS.md, Figures quoted in code comments before).
const TABLES = new Int32Array(1024);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  TABLES[n] = c;
}
for (let n = 0; n < 256; n++) {
  let c = TABLES[n] as number;
  for (let t = 1; t < 4; t++) {
    c = (TABLES[c & 0xff] as number) ^ (c >>> 8);
    TABLES[t * 256 + n] = c;
  }
}

/**
 * The CRC-32 (IEEE) of `bytes[start, end)`, as an unsigned 32-bit integer.
 *
 * @example
 * ```ts
 * crc32(new TextEncoder().encode('123456789')) // 0xcbf43926
 * ```
 */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  const t = TABLES;
  let c = -1;
  let i = start;
  for (const last = end - 3; i < last; i += 4) {
    c ^= bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    c =
      t[768 + (c & 0xff)]! ^
      t[512 + ((c >>> 8) & 0xff)]! ^
      t[256 + ((c >>> 16) & 0xff)]! ^
      t[c >>> 24]!;
  }
  for (; i < end; i++) c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}
