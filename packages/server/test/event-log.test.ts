import { compilePattern, EventBus } from '@switchboard/core';
import { describe, expect, it } from 'vitest';
import { EventLog } from '../src/event-log.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const decoder = new TextDecoder();

describe('EventLog', () => {
  it('keeps no more bytes than its bound, dropping the oldest events first', () => {
    const bus = new EventBus();
    const log = new EventLog(bus, { maxEvents: 1000, maxBytes: 2000 });
    const frames: Uint8Array[] = [];
    const matchers = [compilePattern('big.*')];
    log.add({ matchers, deliver: (frame) => frames.push(frame) });
    for (let i = 0; i < 50; i++) bus.publish('big.one', { i, pad: 'x'.repeat(100) });
    expect(frames).toHaveLength(50);
    const perEvent = frames[0]?.byteLength ?? 0;
    expect(log.size).toBe(Math.floor(2000 / perEvent));
    const firstId = /^id: (.*)$/m.exec(decoder.decode(frames[0]))?.[1] as string;
    const replay = log.replay(firstId, ['big.*'], matchers);
    expect(replay.missed).toBe('expired');
    expect(replay.frames).toHaveLength(log.size);
    expect(decoder.decode(replay.frames.at(-1))).toContain('"i":49');
  });

  it('records a pattern until its retention has passed after the last reader left', async () => {
    const bus = new EventBus();
    const log = new EventLog(bus, { retentionMs: 30 });
    const stop = log.add({ matchers: [compilePattern('a.*')], deliver: () => undefined });
    stop();
    expect(bus.hasSubscribers('a.b')).toBe(true);
    bus.publish('a.b', {});
    expect(log.size).toBe(1);
    await sleep(80);
    expect(bus.size).toBe(0);
    // The kept event stays for a reader that comes back, until newer ones push it out.
    expect(log.size).toBe(1);
  });
});
