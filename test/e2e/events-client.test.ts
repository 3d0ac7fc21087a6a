/**
 * `client.events()` from the built `@switchboard/client` on Node, Bun and Deno, against a real
 * server on 127.0.0.1: each runtime's fetch, ReadableStream and TextDecoder carry the stream.
 * A runtime is skipped, saying why, when its binary or the build is missing.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSwitchboard, type Switchboard } from '@switchboard/core';
import { createApp } from '@switchboard/server';
import { nodeRuntime } from '@switchboard/server/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findRuntime } from './servers.js';

const clientDir = fileURLToPath(new URL('../../packages/client', import.meta.url));
const built = join(clientDir, 'dist/index.js');

// The script submits its own tasks once its stream is open, so it needs no signal from here.
const SCRIPT = `
import { createClient, isEvent } from ${JSON.stringify(built)};
const client = createClient({ baseUrl: process.argv.at(-1) ?? Deno.args[0] });
const abort = new AbortController();
const events = client.events({ topics: ['task.queued', 'task.cancelled'], signal: abort.signal });
const got = [];
const reading = (async () => {
  for await (const event of events) {
    got.push({ topic: event.topic, taskId: event.taskId, eventId: event.eventId,
      cancelled: isEvent(event, 'task.cancelled') });
  }
})();
await new Promise((r) => setTimeout(r, 300));
const ids = [];
for (let i = 0; i < 3; i++) ids.push((await client.submit({ capability: 'x' })).id);
await client.cancel(ids[2]);
const deadline = Date.now() + 10000;
while (got.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
abort.abort();
await reading;
console.log(JSON.stringify({ ids, got, ended: true }));
`;

function run(bin: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { cwd: clientDir, timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${bin} failed: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

let sb: Switchboard;
let close: () => Promise<void>;
let baseUrl: string;
let script: string;

beforeAll(async () => {
  sb = createSwitchboard();
  await sb.start();
  const server = await nodeRuntime.serve(createApp(sb).fetch, { port: 0, host: '127.0.0.1' });
  close = () => server.close();
  baseUrl = `http://127.0.0.1:${server.port}`;
  script = join(mkdtempSync(join(tmpdir(), 'switchboard-events-')), 'follow.mjs');
  writeFileSync(script, SCRIPT);
});
afterAll(async () => {
  await sb.shutdown({ drain: false });
  await close();
});

// Each runtime's command for the script; Deno reads the workspace's node_modules as they are.
const runtimes: [name: string, bin: string | undefined, args: () => string[]][] = [
  ['node', process.execPath, () => [script, baseUrl]],
  ['bun', findRuntime('bun'), () => [script, baseUrl]],
  ['deno', findRuntime('deno'), () => ['run', '-A', '--node-modules-dir=manual', script, baseUrl]],
];

for (const [name, bin, args] of runtimes) {
  const why =
    bin === undefined
      ? `no ${name} binary`
      : existsSync(built)
        ? undefined
        : `${built} is not built`;
  if (why !== undefined) console.warn(`events-client: ${name} skipped: ${why}`);
  describe.skipIf(why !== undefined)(`client.events on ${name}`, () => {
    it('yields the matching events in order with increasing ids, and ends on abort', async () => {
      const out = JSON.parse(await run(bin as string, args()));
      expect(out.ended).toBe(true);
      expect(out.got.map((e: { topic: string }) => e.topic)).toEqual([
        'task.queued',
        'task.queued',
        'task.queued',
        'task.cancelled',
      ]);
      expect(out.got.map((e: { taskId: string }) => e.taskId)).toEqual([...out.ids, out.ids[2]]);
      expect(out.got[3].cancelled).toBe(true);
      const numbers = out.got.map((e: { eventId: string }) => Number(e.eventId.split('-').at(-1)));
      expect(numbers).toEqual([...numbers].sort((a: number, b: number) => a - b));
    });
  });
}
