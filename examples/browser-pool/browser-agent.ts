// The browser agent. Each instance runs in a child process of its own (see index.ts), where
// `init` launches one headless Chromium that the instance owns until it ends. Tasks of one
// `sessionKey` share a browser context, hence its cookies, for as long as this browser lives.
import { createHash } from 'node:crypto';
import { defineAgent, SwitchboardError } from '@switchboard/core';
import {
  type Browser,
  type BrowserContext,
  type BrowserServer,
  chromium,
  type Page,
} from 'playwright-core';

/** What a task asks: the page to open. */
export interface Visit {
  url: string;
}

/** What a task answers. */
export interface Visited {
  title: string;
  /** The PNG screenshot's size and SHA-256, in hex. */
  screenshot: { bytes: number; sha256: string };
  /** The Chromium that opened the page, and the agent's own process. */
  browserPid: number;
  agentPid: number;
  attempt: number;
}

/** Debian's Chromium unless `$CHROMIUM_BIN` names another. */
export const chromiumPath = (): string => process.env.CHROMIUM_BIN || '/usr/bin/chromium';

// One agent instance per process, so the process's module state is the instance's.
let server: BrowserServer | undefined;
let browser: Browser | undefined;
let stopping = false;
// A session's browser context, made by its first task and kept while this browser lives.
const sessions = new Map<string, Promise<BrowserContext>>();
// Pages in use by a task. A task reuses an idle page of its context: opening one costs more
// than loading a small page into it.
const busy = new WeakSet<Page>();

/** A context of a small viewport: a smaller screenshot is a faster one. */
const newContext = (on: Browser) => on.newContext({ viewport: { width: 640, height: 360 } });

/** The error that fails the agent over: its tasks go back to the queue, a new one starts. */
const browserGone = () => new SwitchboardError('agent_failed', 'its Chromium exited');

export default defineAgent<Visit, Visited>({
  name: 'browser',
  capabilities: ['browser'],
  // Pages of several sessions load at once in one browser.
  config: { maxConcurrency: 4 },

  async init({ fail }) {
    // A server rather than a plain launch, for the browser's process: its exit is the crash
    // signal, and its pid is what a task reports.
    server = await chromium.launchServer({ executablePath: chromiumPath(), headless: true });
    server.process().once('exit', () => {
      if (!stopping) fail(browserGone());
    });
    browser = await chromium.connect(server.wsEndpoint());
  },

  async handle({ url }, ctx) {
    if (browser === undefined || server === undefined) throw browserGone();
    const key = ctx.sessionKey;
    let context: BrowserContext;
    if (key === undefined) context = await newContext(browser);
    else {
      // Kept as a promise, so that two tasks of a new session arriving together share one.
      let made = sessions.get(key);
      if (made === undefined) {
        made = newContext(browser);
        sessions.set(key, made);
      }
      context = await made;
    }
    const page = context.pages().find((p) => !busy.has(p)) ?? (await context.newPage());
    busy.add(page);
    try {
      await page.goto(url, { timeout: 10_000 });
      const png = await page.screenshot();
      return {
        title: await page.title(),
        screenshot: { bytes: png.length, sha256: createHash('sha256').update(png).digest('hex') },
        browserPid: server.process().pid as number,
        agentPid: process.pid,
        attempt: ctx.attempt,
      };
    } catch (error) {
      // A page that failed because Chromium died is no fault of the task: the agent fails
      // over and the task is retried, here after the restart or on another agent.
      if (!browser.isConnected() || server.process().exitCode !== null) throw browserGone();
      throw error;
    } finally {
      busy.delete(page);
      if (key === undefined) await context.close().catch(() => undefined);
    }
  },

  async shutdown() {
    stopping = true;
    await browser?.close().catch(() => undefined);
    await server?.close();
  },
});
