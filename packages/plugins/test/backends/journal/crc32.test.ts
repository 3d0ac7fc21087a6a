import { crc32 } from '@switchboard/plugins/journal';
import { describe, expect, it } from 'vitest';

const text = (s: string) => new TextEncoder().encode(s);

describe('crc32', () => {
  it('matches the standard CRC-32 (IEEE) check values', () => {
    expect(crc32(text(''))).toBe(0);
    expect(crc32(text('a'))).toBe(0xe8b7be43);
    expect(crc32(text('123456789'))).toBe(0xcbf43926);
    expect(crc32(text('The quick brown fox jumps over the lazy dog'))).toBe(0x414fa339);
    expect(crc32(new Uint8Array(32))).toBe(0x190a55ad);
    expect(crc32(new Uint8Array(32).fill(0xff))).toBe(0xff6cab0b);
  });

  it('agrees with zlib on every length and alignment of a range', async () => {
    const { crc32: zlibCrc } = await import('node:zlib');
    const bytes = Uint8Array.from({ length: 300 }, (_, i) => (i * 131 + 7) & 0xff);
    for (let start = 0; start < 5; start++) {
      for (let end = start; end <= bytes.length; end += 7) {
        expect(crc32(bytes, start, end)).toBe(zlibCrc(bytes.subarray(start, end)));
      }
    }
  });
});
