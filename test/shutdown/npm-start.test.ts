import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import {
  killAll,
  listening,
  post,
  processTree,
  type StartedProcess,
  servingUrl,
  slowAgentConfig,
  startProcess,
  whenGone,
  whenLeased,
} from './serve-process.js';

// `npm start` as a supervisor (Docker, systemd) or a terminal stops it: a signal to the top
// process of its tree (npm → sh → node scripts/start.mjs), or Ctrl-C to the whole group.
// The build is taken as it is (SWITCHBOARD_START_SKIP_BUILD=1): installing and building are
// not what is tested here, and would take most of a minute.

const npm = spawnSync('npm', ['--version'], { stdio: 'ignore' }).status === 0 ? 'npm' : undefined;

const trees: number[][] = [];
afterEach(() => {
  for (const tree of trees.splice(0)) killAll(tree);
});

/** `npm start -- --port 0 ...`, its tree once it serves, and the server's URL. */
async function npmStart(
  args: string[],
): Promise<{ p: StartedProcess; url: string; tree: number[] }> {
  const p = startProcess(npm as string, ['start', '--', '--port', '0', ...args], {
    SWITCHBOARD_START_SKIP_BUILD: '1',
  });
  const url = servingUrl(await p.line(/serving/, 20_000));
  const tree = processTree(p.pid);
  trees.push(tree);
  return { p, url, tree };
}

describe.skipIf(npm === undefined)('npm start', { timeout: 30_000 }, () => {
  it('SIGTERM to npm alone drains the server and leaves no process of the tree behind', async () => {
    const { p, url, tree } = await npmStart(['--config', slowAgentConfig(400)]);
    // npm, its shell, and the node process serving: nothing more.
    expect(tree.length).toBeGreaterThanOrEqual(2);
    const { id } = await post<{ id: string }>(`${url}/v1/tasks`, { capability: 'slow' });
    await whenLeased(url, id);
    await post(`${url}/v1/tasks`, { capability: 'nobody' });
    const t0 = Date.now();
    process.kill(p.pid, 'SIGTERM');
    const left = await whenGone(tree, 5000);
    const took = Date.now() - t0;
    expect(left).toEqual([]);
    expect(await listening(url)).toBe(false);
    // The running task finished (400 ms); the queued one was not waited for.
    expect(took).toBeLessThan(3000);
    await p.exited;
    expect(p.lines()).toContain(
      'switchboard: stopped; 1 in flight finished, 1 queued dropped (memory backend)',
    );
  });

  it('Ctrl-C (SIGINT to the whole process group) drains once and ends every process', async () => {
    const { p, url, tree } = await npmStart([]);
    process.kill(-p.pid, 'SIGINT');
    expect(await whenGone(tree, 5000)).toEqual([]);
    expect(await listening(url)).toBe(false);
    await p.exited;
    const lines = p.lines();
    expect(lines.filter((l) => l.includes('draining'))).toEqual([
      'switchboard: SIGINT, draining: 0 in flight, 0 queued',
    ]);
    expect(lines.some((l) => l.includes('second SIGINT'))).toBe(false);
    expect(lines).toContain(
      'switchboard: stopped; 0 in flight finished, 0 queued dropped (memory backend)',
    );
  });
});
