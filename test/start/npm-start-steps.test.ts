/**
 * `npm start` installs and builds only when something changed, and checks its arguments
 * before either (scripts/start.mjs, scripts/stamps.mjs). Run in a scratch copy of the
 * repository's files, as a fresh clone: its first start installs and builds, the ones after
 * it skip what did not change, and a mistyped flag or config key fails at once. What is
 * asserted is what each start printed, the steps it ran or skipped, not how long it took.
 */
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { root, type StartedProcess, servingUrl, startProcess } from '../shutdown/serve-process.js';

const npm = spawnSync('npm', ['--version'], { stdio: 'ignore' }).status === 0 ? 'npm' : undefined;
if (npm === undefined) console.warn('npm start steps: no npm on the PATH, skipped');

let clone = '';

/** The repository's files as a clone has them: tracked, or new and not ignored. */
function copyRepository(to: string): void {
  const listed = spawnSync(
    'git',
    ['ls-files', '-z', '--cached', '--others', '--exclude-standard'],
    {
      cwd: root,
      encoding: 'utf8',
    },
  );
  if (listed.status !== 0) throw new Error(`git ls-files failed: ${listed.stderr}`);
  for (const file of listed.stdout.split('\0')) {
    if (file === '' || !existsSync(join(root, file))) continue;
    mkdirSync(dirname(join(to, file)), { recursive: true });
    cpSync(join(root, file), join(to, file));
  }
}

/** `npm start -- ...args` in the copy, until it serves (then stopped) or exits by itself. */
async function npmStart(
  args: string[],
  ms: number,
): Promise<{ lines: string[]; code: number | null }> {
  const p: StartedProcess = startProcess(npm as string, ['start', '--', ...args], {}, clone);
  const outcome = await Promise.race([
    p.line(/switchboard: serving/, ms).then(servingUrl),
    p.exited.then(() => undefined),
  ]);
  if (outcome !== undefined) {
    expect((await fetch(`${outcome}/healthz`)).status).toBe(200);
    process.kill(-p.pid, 'SIGINT');
  }
  const { code } = await p.exited;
  return { lines: p.lines(), code };
}

const steps = (lines: string[]) => lines.filter((l) => l.startsWith('== '));

describe.skipIf(npm === undefined)('npm start in a fresh clone', { timeout: 600_000 }, () => {
  beforeAll(() => {
    clone = mkdtempSync(join(tmpdir(), 'sb-start-'));
    copyRepository(clone);
  }, 120_000);
  afterAll(() => {
    if (clone !== '') rmSync(clone, { recursive: true, force: true });
  });

  it('installs and builds on its first start, saying so, and then serves', async () => {
    const { lines } = await npmStart(['--port', '0'], 540_000);
    expect(steps(lines)).toEqual([
      '== arguments: checked once the first build is done',
      '== install (first start: node_modules is missing)',
      '== build (no build yet)',
    ]);
    expect(lines.some((l) => l.includes('switchboard: serving'))).toBe(true);
    // Only the root and packages/* are installed: the tests' Bun and Deno are not.
    expect(existsSync(join(clone, 'test/node_modules'))).toBe(false);
    expect(existsSync(join(clone, 'node_modules/.pnpm/bun@1.4.4'))).toBe(false);
  });

  it('skips both on a second start with nothing changed', async () => {
    const { lines } = await npmStart(['--port', '0'], 60_000);
    expect(steps(lines)).toEqual([
      '== install skipped (lockfile and package.json files unchanged)',
      '== build skipped (sources and build config unchanged)',
    ]);
    expect(lines.some((l) => l.includes('switchboard: serving'))).toBe(true);
  });

  it('fails at once on a mistyped flag, with the usage line, before install or build', async () => {
    const { lines, code } = await npmStart(['--prot', '9000'], 60_000);
    expect(code).toBe(2);
    expect(steps(lines)).toEqual([]);
    expect(lines).toContain('npm start: unknown argument "--prot" (see --help)');
    expect(lines.some((l) => l.startsWith('Usage: switchboard serve [--port 8787]'))).toBe(true);
  });

  it('fails at once on a config file with an unknown key, naming it', async () => {
    const config = join(clone, 'bad-config.json');
    writeFileSync(config, JSON.stringify({ prot: 9000 }));
    const { lines, code } = await npmStart(['--config', config], 60_000);
    expect(code).toBe(2);
    expect(steps(lines)).toEqual([]);
    expect(lines.some((l) => l.includes('unknown config key "prot" (did you mean "port"?)'))).toBe(
      true,
    );
  });

  it('rebuilds, without installing, once a source is touched', async () => {
    const now = new Date();
    utimesSync(join(clone, 'packages/core/src/index.ts'), now, now);
    const { lines } = await npmStart(['--port', '0'], 300_000);
    expect(steps(lines)).toEqual([
      '== install skipped (lockfile and package.json files unchanged)',
      '== build (sources changed since the last build)',
    ]);
    expect(lines.some((l) => l.includes('switchboard: serving'))).toBe(true);
    // And that build is the last one: the next start skips it.
    expect(steps((await npmStart(['--port', '0'], 60_000)).lines)).toContain(
      '== build skipped (sources and build config unchanged)',
    );
  });
});
