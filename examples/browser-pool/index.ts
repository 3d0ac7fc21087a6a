// A pool of three headless Chromium browsers, each owned by a browser agent in a child process
// of its own. Ten sessions of five visits each: a sign-in page that sets a cookie, then four
// visits of a page that shows it. Session affinity sends a session's visits to the browser
// that signed it in, where the cookie is. One JSON line is printed per visit as it completes,
// then a summary line.
import { createSwitchboard } from '@switchboard/core';
import { isolate } from '@switchboard/plugins/isolate';
import { sessionAffinity } from '@switchboard/plugins/session-affinity';
import type { Visit, Visited } from './browser-agent.js';
import { startSite } from './pages.js';

const SESSIONS = 10;
const VISITS = 5;

const site = await startSite();
const browser = await isolate(new URL('./browser-agent.ts', import.meta.url), {
  runIn: 'process',
  // The child process is a plain Node, which needs tsx to load a TypeScript module as this
  // process does; Bun loads it by itself.
  execArgv: process.versions.bun === undefined ? ['--import', import.meta.resolve('tsx')] : [],
  maxTasks: 200, // a fresh browser after 200 pages, since browsers leak
  maxRssMb: 800, // the agent's Node process only: Chromium's processes are not counted
});
const sb = createSwitchboard({
  agents: [{ definition: browser, min: 3, max: 3 }],
  loadBalancer: sessionAffinity(),
});

// How many times each task completed: exactly once each, even across a browser crash.
const completions = new Map<string, number>();
sb.events.subscribe('task.completed', (e) => {
  const id = String(e.taskId);
  completions.set(id, (completions.get(id) ?? 0) + 1);
});
const failures: string[] = [];
sb.events.subscribe('agent.failed', (e) => {
  failures.push(`${String(e.reason)}: ${String(e.error ?? 'no error given')}`);
});

await sb.start();
const started = Date.now();
const print = (line: object) => console.log(JSON.stringify(line));

// The sessions run side by side, the visits of each one after another.
const visits = await Promise.all(
  Array.from({ length: SESSIONS }, async (_, s) => {
    const session = `user-${s}`;
    const done: Visited[] = [];
    for (let v = 0; v < VISITS; v++) {
      const url = v === 0 ? `${site.url}/login?user=${session}` : `${site.url}/whoami`;
      const handle = await sb.submit<Visited, Visit>({
        capability: 'browser',
        sessionKey: session,
        payload: { url },
      });
      const visited = await handle.result;
      print({ task: handle.id, session, visit: v + 1, ...visited });
      done.push(visited);
    }
    return done;
  }),
);

const all = visits.flat();
print({
  summary: {
    visits: all.length,
    completedOnce:
      [...completions.values()].every((n) => n === 1) && completions.size === all.length,
    browsers: new Set(all.map((v) => v.browserPid)).size,
    retried: all.filter((v) => v.attempt > 1).length,
    agentFailures: failures,
    ms: Date.now() - started,
  },
});
await sb.shutdown();
await site.close();
