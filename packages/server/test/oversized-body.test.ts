import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../src/cli.js';
import { nodeRuntime } from '../src/node.js';
import { MAX_DISCARD_BYTES } from '../src/read-body.js';

// A real server on 127.0.0.1, and real clients: Node's fetch (undici), curl and Python's
// urllib, each sending bodies twice the default 1 MiB limit many times. Every one must get
// its 413 with the error body, never a reset connection. The clients run as child processes
// (asynchronously, since the server answers from this process).
const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'switchboard-413-'));
const big = join(dir, 'big.json');
const BODY = JSON.stringify({ capability: 'x', payload: 'a'.repeat(2 * 1024 * 1024) });
writeFileSync(big, BODY);
const has = (cmd: string) => spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;
// The hot submit route (Node's request directly) and a route served through Hono.
const PATHS = ['/v1/tasks', '/v1/agents'];
const TIMES = 20;

let server: RunningServer;
beforeAll(async () => {
  server = await startServer(nodeRuntime, ['--port', '0'], {}, () => undefined);
});
afterAll(() => server.stop());

function tally(outcomes: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const o of outcomes) counts[o] = (counts[o] ?? 0) + 1;
  return counts;
}

const TOO_LARGE = '413 payload_too_large';

describe('an oversized body gets its 413 on every client', () => {
  it('from Node fetch, declared or chunked, many at once', async () => {
    for (const path of PATHS) {
      const one = async (chunked: boolean) => {
        try {
          const res = await fetch(`${server.url}${path}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            ...(chunked
              ? { body: new Blob([BODY]).stream(), duplex: 'half' as const }
              : { body: BODY }),
          } as RequestInit);
          const body = (await res.json()) as { error: { code: string } };
          return `${res.status} ${body.error.code}`;
        } catch (err) {
          return `network error ${String((err as { cause?: unknown }).cause ?? err)}`;
        }
      };
      const outcomes = await Promise.all(
        Array.from({ length: 2 * TIMES }, (_, i) => one(i % 4 === 3)),
      );
      expect(tally(outcomes)).toEqual({ [TOO_LARGE]: 2 * TIMES });
    }
  }, 60_000);

  it.skipIf(!has('curl'))(
    'from curl, declared (Expect: 100-continue) or chunked',
    async () => {
      for (const path of PATHS) {
        for (const chunked of [false, true]) {
          const outcomes: string[] = [];
          for (let i = 0; i < TIMES; i++) {
            const { stdout } = await run('curl', [
              '-sS',
              '-w',
              '\n%{http_code}',
              '-H',
              'content-type: application/json',
              ...(chunked ? ['-H', 'transfer-encoding: chunked'] : []),
              '--data-binary',
              `@${big}`,
              `${server.url}${path}`,
            ]).catch((err: { stdout?: string; stderr?: string }) => ({
              stdout: `${err.stderr ?? ''}\nfailed`,
            }));
            const [body, status] = [
              stdout.slice(0, stdout.lastIndexOf('\n')),
              stdout.split('\n').pop(),
            ];
            const code = /"code":"(\w+)"/.exec(body)?.[1] ?? body.trim();
            outcomes.push(`${status} ${code}`);
          }
          expect(tally(outcomes)).toEqual({ [TOO_LARGE]: TIMES });
        }
      }
    },
    60_000,
  );

  it.skipIf(!has('python3'))(
    'from Python urllib (which sends Connection: close)',
    async () => {
      const script = `
import json, sys, urllib.request, urllib.error
url, times, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
body = open(path, 'rb').read()
out = []
for _ in range(times):
    req = urllib.request.Request(url, data=body, headers={'content-type': 'application/json'})
    try:
        urllib.request.urlopen(req)
        out.append('accepted')
    except urllib.error.HTTPError as e:
        out.append('%d %s' % (e.code, json.loads(e.read())['error']['code']))
    except Exception as e:
        out.append('network error %s' % e)
print(json.dumps(out))
`;
      for (const path of PATHS) {
        const { stdout } = await run('python3', [
          '-c',
          script,
          `${server.url}${path}`,
          String(TIMES),
          big,
        ]);
        expect(tally(JSON.parse(stdout) as string[])).toEqual({ [TOO_LARGE]: TIMES });
      }
    },
    60_000,
  );

  it('keeps the connection for the next request once the body is read', async () => {
    // One keep-alive socket: the 413, then a normal request on the same connection.
    const url = new URL(server.url);
    const socket = connect(Number(url.port), url.hostname);
    const head = (length: number) =>
      `POST /v1/tasks HTTP/1.1\r\nhost: ${url.host}\r\ncontent-type: application/json\r\ncontent-length: ${length}\r\n\r\n`;
    const small = JSON.stringify({ capability: 'x' });
    socket.write(head(BODY.length));
    socket.write(BODY);
    socket.write(head(small.length) + small);
    let received = '';
    await new Promise<void>((resolve, reject) => {
      socket.on('data', (data: Buffer) => {
        received += data.toString();
        if ((received.match(/HTTP\/1\.1 \d{3}/g) ?? []).length === 2 && received.endsWith('}'))
          resolve();
      });
      socket.on('error', reject);
      socket.on('close', () => reject(new Error(`closed after ${JSON.stringify(received)}`)));
    });
    socket.destroy();
    expect(received.match(/HTTP\/1\.1 \d{3}/g)).toEqual(['HTTP/1.1 413', 'HTTP/1.1 202']);
    expect(received).not.toMatch(/connection: close/i);
  });

  it('does not read forever: past the discard bound it answers and closes', async () => {
    const url = new URL(server.url);
    // A declared 10 GiB body: answered at once, and the connection closed, unread.
    const declared = connect(Number(url.port), url.hostname);
    declared.write(
      `POST /v1/agents HTTP/1.1\r\nhost: ${url.host}\r\ncontent-type: application/json\r\ncontent-length: ${10 * 1024 ** 3}\r\n\r\n`,
    );
    let answer = '';
    declared.on('data', (data: Buffer) => {
      answer += data.toString();
    });
    declared.on('error', () => undefined); // A reset after the answer is the expected end.
    await new Promise<void>((resolve) => declared.on('close', () => resolve()));
    expect(answer).toMatch(/^HTTP\/1\.1 413/);
    expect(answer).toMatch(/connection: close/i);
    // A chunked body that never ends: the server stops reading past the bound and closes.
    const endless = connect(Number(url.port), url.hostname);
    endless.write(
      `POST /v1/agents HTTP/1.1\r\nhost: ${url.host}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n`,
    );
    const chunk = Buffer.alloc(1024 * 1024, 97);
    const frame = Buffer.concat([
      Buffer.from(`${chunk.length.toString(16)}\r\n`),
      chunk,
      Buffer.from('\r\n'),
    ]);
    let sent = 0;
    let open = true;
    endless.on('error', () => undefined); // The server's close may reach us as a reset.
    const closed = new Promise<void>((resolve) =>
      endless.on('close', () => {
        open = false;
        resolve();
      }),
    );
    const started = Date.now();
    while (open && sent < 4 * MAX_DISCARD_BYTES && Date.now() - started < 30_000) {
      if (!endless.write(frame))
        await new Promise((r) => endless.once('drain', r).once('close', r));
      sent += frame.length;
    }
    await closed;
    expect(sent).toBeLessThan(2 * MAX_DISCARD_BYTES);
  }, 60_000);
});
