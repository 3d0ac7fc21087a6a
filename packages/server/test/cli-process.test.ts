import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The real `switchboard serve` process, from the bundle `node scripts/build.mjs` makes.
const bin = fileURLToPath(new URL('../dist/bin/node.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'switchboard-cli-process-'));
// No token from the environment of the run: these tests are about auth being off.
const env = {
  ...process.env,
  PORT: '',
  HOST: '',
  SWITCHBOARD_ADMIN_TOKEN: '',
  SWITCHBOARD_CLIENT_TOKEN: '',
  SWITCHBOARD_AGENT_TOKEN: '',
};

/** Runs `switchboard serve` with `args` to its end (it must end by itself within 10 s). */
function serve(args: string[]) {
  const run = spawnSync(process.execPath, [bin, 'serve', ...args], {
    env,
    encoding: 'utf8',
    timeout: 10_000,
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

function config(name: string, value: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(value));
  return file;
}

describe('switchboard serve as a process', () => {
  it('exits 2 on a config file with an unknown key, with one line naming it, not a stack trace', () => {
    const file = config('typo.json', { prot: 9000 });
    const run = serve(['--port', '0', '--config', file]);
    expect(run.status).toBe(2);
    expect(run.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^switchboard: config .*typo\.json: unknown config key "prot" \(did you mean "port"\?\); known: port, host/,
      ),
    ]);
    const nested = serve(['--config', config('nested.json', { rateLimits: { perIP: {} } })]);
    expect(nested.status).toBe(2);
    expect(nested.stderr).toContain(
      'unknown config key "rateLimits.perIP" (did you mean "perIp"?)',
    );
    expect(nested.stderr).not.toMatch(/\n\s+at /);
    const option = serve([
      '--config',
      config('sb.json', { switchboard: { loadBalancr: 'random' } }),
    ]);
    expect(option.status).toBe(2);
    expect(option.stderr).toContain('"switchboard.loadBalancr" (did you mean "loadBalancer"?)');
  });

  it('refuses a non-loopback host without a token, saying what to do', () => {
    for (const args of [
      ['--host', '0.0.0.0'],
      ['--config', config('open.json', { host: '::' })],
    ]) {
      const run = serve(['--port', '0', ...args]);
      expect(run.status).toBe(2);
      const lines = run.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        /^switchboard: refusing to serve on (0\.0\.0\.0|::) without auth: set a token .*--host 127\.0\.0\.1.*--allow-unauthenticated/,
      );
      expect(run.stdout).not.toContain('serving');
    }
  });

  it('serves open when told to, and its startup line says the port is open without auth', async () => {
    // The one test that binds a non-loopback address: on a random port, for the moment it
    // takes to read the startup line.
    const child = spawn(
      process.execPath,
      [bin, 'serve', '--port', '0', '--host', '0.0.0.0', '--allow-unauthenticated'],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    let out = '';
    const line = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no startup line: ${out}`)), 10_000);
      child.stdout.on('data', (data: Buffer) => {
        out += data.toString();
        const m = /^switchboard: serving .*$/m.exec(out);
        if (m !== null) {
          clearTimeout(timer);
          resolve(m[0]);
        }
      });
      child.once('exit', () => reject(new Error(`exited: ${out}`)));
    });
    child.kill('SIGTERM');
    await exited;
    expect(line).toMatch(
      /^switchboard: serving http:\/\/0\.0\.0\.0:(\d+) .*auth off: port \1 is open without auth to anyone who can reach 0\.0\.0\.0\)$/,
    );
  });

  it('bounds its event streams by the config file’s events', async () => {
    // A ping every 100 ms instead of every 15 s: an idle stream sees one at once.
    const file = config('events.json', { events: { pingIntervalMs: 100 } });
    const child = spawn(process.execPath, [bin, 'serve', '--port', '0', '--config', file], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    try {
      let out = '';
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no startup line: ${out}`)), 10_000);
        child.stdout.on('data', (data: Buffer) => {
          out += data.toString();
          const m = /serving (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
          if (m !== null) {
            clearTimeout(timer);
            resolve(m[1] as string);
          }
        });
      });
      const stream = await fetch(`${url}/v1/events?topics=nothing.here`, {
        signal: AbortSignal.timeout(5000),
      });
      const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
      const started = Date.now();
      let text = '';
      while (!text.includes(': ping')) {
        const { value } = await reader.read();
        text += new TextDecoder().decode(value);
      }
      expect(Date.now() - started).toBeLessThan(3000);
      await reader.cancel();
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });
});
