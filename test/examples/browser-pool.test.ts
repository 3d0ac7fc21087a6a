/**
 * examples/browser-pool as a reader runs it (tsx index.ts): fifty visits in ten sessions over
 * three browser agents, each a child process that owns a headless Chromium. Midway the test
 * kills one Chromium with SIGKILL; every visit still completes, exactly once, and a session's
 * cookie is seen by exactly those of its visits that ran in the browser that signed it in.
 * Skipped, saying so, when no Chromium is installed.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  killAll,
  processTree,
  root,
  type StartedProcess,
  startProcess,
  whenGone,
} from '../shutdown/serve-process.js';
import { findChromium } from '../ui/browser.js';

const example = join(root, 'examples/browser-pool');
const tsx = join(example, 'node_modules/.bin/tsx');

const chromiumBin = findChromium();
if (chromiumBin === undefined) {
  console.warn(
    "examples: no Chromium (install Debian's chromium or set CHROMIUM_BIN), the browser pool's run is skipped",
  );
}

interface Visit {
  task: string;
  session: string;
  visit: number;
  title: string;
  screenshot: { bytes: number; sha256: string };
  browserPid: number;
  agentPid: number;
  attempt: number;
}

interface Summary {
  visits: number;
  completedOnce: boolean;
  browsers: number;
  retried: number;
  agentFailures: string[];
}

/** The JSON lines the example has printed on stdout so far. */
function printed(run: StartedProcess): { visits: Visit[]; summary?: Summary } {
  const lines = run.out().flatMap((l) => (l.startsWith('{') ? [JSON.parse(l)] : []));
  return {
    visits: lines.filter((l) => 'task' in l),
    summary: lines.find((l) => l.summary)?.summary,
  };
}

async function until(check: () => boolean, ms: number, what: () => string): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms: ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe.skipIf(chromiumBin === undefined)('examples/browser-pool', () => {
  let run: StartedProcess | undefined;
  // Every process the run was seen to start: agents' Node processes, Chromiums and their helpers.
  const seen = new Set<number>();
  const note = (pids: readonly number[]) => {
    for (const pid of pids) seen.add(pid);
  };
  afterAll(() => {
    if (run !== undefined) note(processTree(run.pid));
    killAll([...seen]);
  });

  it('loses no visit when a browser is killed, and keeps each session in its browser', async () => {
    run = startProcess(tsx, ['index.ts'], { CHROMIUM_BIN: chromiumBin as string }, example);
    const current = run;
    const output = () => current.lines().slice(-30).join('\n');

    // A dozen visits in, each session is on its second or third: all three browsers are busy.
    await until(() => printed(current).visits.length >= 12, 60_000, output);
    note(processTree(current.pid));
    const killed = printed(current).visits.at(-1)?.browserPid as number;
    process.kill(killed, 'SIGKILL');

    const exit = await current.exited;
    expect(exit.code, output()).toBe(0);
    const { visits, summary } = printed(current);
    note(visits.flatMap((v) => [v.browserPid, v.agentPid]));

    // Nothing lost, nothing done twice: fifty visits, fifty tasks, each completed once.
    expect(visits).toHaveLength(50);
    expect(new Set(visits.map((v) => v.task)).size).toBe(50);
    expect(summary).toMatchObject({ visits: 50, completedOnce: true });
    // The browser killed held visits, which ran again on another attempt.
    expect(summary?.retried).toBeGreaterThanOrEqual(1);
    expect(summary?.agentFailures.join('\n')).toMatch(/Chromium exited/);
    expect(visits.some((v) => v.browserPid === killed)).toBe(true);

    for (const v of visits) {
      expect(v.screenshot.bytes).toBeGreaterThan(1000);
      expect(v.screenshot.sha256).toMatch(/^[0-9a-f]{64}$/);
    }

    const sessions = new Map<string, Visit[]>();
    for (const v of visits) sessions.set(v.session, [...(sessions.get(v.session) ?? []), v]);
    expect(sessions.size).toBe(10);
    let untouched = 0;
    for (const [session, mine] of sessions) {
      const ordered = mine.sort((a, b) => a.visit - b.visit);
      const login = ordered[0] as Visit;
      expect(login.title).toBe(`Signed in as ${session}`);
      // The cookie lives in the browser context of the browser that signed the session in:
      // a visit sees it exactly when it ran there.
      for (const later of ordered.slice(1)) {
        const there = later.browserPid === login.browserPid;
        expect(later.title, `${session} visit ${later.visit}`).toBe(
          there ? `Signed in as ${session}` : 'Not signed in',
        );
      }
      // A session whose browser lived kept to it from the first visit to the last.
      if (login.browserPid !== killed) {
        expect(new Set(ordered.map((v) => v.browserPid)).size, session).toBe(1);
        untouched++;
      }
    }
    expect(untouched).toBeGreaterThanOrEqual(5);

    // Every agent process and every Chromium ended with the run, the killed one's too.
    expect(await whenGone([...seen], 5_000)).toEqual([]);
  }, 90_000);
});
