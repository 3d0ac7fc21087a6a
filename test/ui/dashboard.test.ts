/**
 * The dashboard in a real browser (Chromium, headless) against a real server on 127.0.0.1,
 * served behind a path prefix: the page loads without a console error, and shows what the
 * server does as it happens (an agent that misses its heartbeats, a queue that fills, a dead
 * letter replayed from the page). Skipped, saying so, when no Chromium is installed.
 */
import { createClient, type SwitchboardClient } from '@switchboard/client';
import { createSwitchboard, defineAgent, type Switchboard } from '@switchboard/core';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { findChromium, type PrefixedServer, servePrefixed } from './browser.js';

const executablePath = findChromium();
if (executablePath === undefined) {
  console.warn(
    "ui: no Chromium (install Debian's chromium or set CHROMIUM_BIN), the dashboard tests are skipped",
  );
}

/** Tasks whose payload asks to fail do so while this is set. */
let failing = true;
const echo = defineAgent({
  name: 'echo',
  capabilities: ['echo'],
  config: { maxConcurrency: 2 },
  async handle(payload: { fail?: boolean } | undefined) {
    if (payload?.fail === true && failing) throw new Error('asked to fail');
    return { echoed: payload ?? null };
  },
});

const poll = { timeout: 10_000, interval: 50 };

// A browser start and a page load may take seconds on a loaded machine.
const HOOK_MS = 60_000;

describe.skipIf(executablePath === undefined)('dashboard', { timeout: 60_000 }, () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: executablePath! });
  }, HOOK_MS);
  afterAll(async () => {
    await browser?.close();
  }, HOOK_MS);

  describe('with auth off', () => {
    let sb: Switchboard;
    let server: PrefixedServer;
    let client: SwitchboardClient;
    let page: Page;
    let problems: string[];

    beforeAll(async () => {
      sb = createSwitchboard({
        agents: [{ definition: echo, min: 1 }],
        heartbeatIntervalMs: 200,
        heartbeatTimeoutMs: 700,
      });
      await sb.start();
      server = await servePrefixed(sb);
      client = createClient({ baseUrl: server.url });
    }, HOOK_MS);
    afterAll(async () => {
      await server?.close();
      await sb?.shutdown({ drain: false });
    }, HOOK_MS);
    beforeEach(async () => {
      failing = true;
      problems = [];
      page = await browser.newPage();
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning')
          problems.push(`${m.type()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`uncaught: ${e.message}`));
      // Through the prefix and without the trailing slash: the server redirects relatively.
      await page.goto(`${server.url}/ui`);
      await page.locator('[data-testid=stream-state]').getByText('live').waitFor();
    }, HOOK_MS);
    afterEach(async () => {
      await page.close();
      expect(problems).toEqual([]);
    }, HOOK_MS);

    it('shows the agents, and a remote agent failing its heartbeat', async () => {
      const state = (name: string) =>
        page.locator(`[data-agent="${name}"] [data-testid=agent-state]`);
      await expect.poll(() => state('echo').textContent(), poll).toMatch(/ready|working/);
      const remote = await client.registerAgent({ name: 'flaky-remote', capabilities: ['crawl'] });
      await expect.poll(() => state('flaky-remote').textContent(), poll).not.toBe('failed');
      const row = page.locator('[data-agent="flaky-remote"]');
      await expect.poll(() => row.textContent(), poll).toMatch(/remote.*crawl/);
      await expect(page.locator('[data-agent="echo"]').textContent()).resolves.toContain(
        'in-process',
      );
      // It never heartbeats: the server fails it, and the page says so, in the table and the timeline.
      await expect.poll(() => state('flaky-remote').textContent(), poll).toBe('failed');
      const timeline = page.locator('[data-testid=timeline] li', { hasText: 'flaky-remote' });
      await expect
        .poll(() => timeline.allTextContents(), poll)
        .toEqual(expect.arrayContaining([expect.stringMatching(/failed.*heartbeat_timeout/)]));
      expect(remote.id).toBeTruthy();

      // The events tail, filtered by a topic pattern.
      await page.goto(`${server.url}/ui/#/events`);
      await client.submit({ capability: 'echo', payload: { n: 1 } });
      const topics = page.locator('[data-testid=events] tbody .topic');
      await expect.poll(() => topics.allTextContents(), poll).toContain('task.completed');
      await page.getByPlaceholder(/Topics/).fill('agent.*');
      const shown = await topics.allTextContents();
      expect(shown.length).toBeGreaterThan(0);
      for (const topic of shown) expect(topic).toMatch(/^agent\.[a-z]+$/);
    });

    it('shows a queue filling and draining, by capability and priority', async () => {
      await page.goto(`${server.url}/ui/#/queues`);
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) {
        const fairnessKey = i < 3 ? 'tenant-a' : 'tenant-b';
        ids.push((await client.submit({ capability: 'nobody', priority: 'high', fairnessKey })).id);
      }
      const depth = page.locator('[data-queue="nobody|high"] [data-testid=queue-depth]');
      await expect.poll(() => depth.textContent(), poll).toBe('4');
      // The fairness keys with the most work, most first, from /v1/stats.
      const keys = page.locator('[data-testid=fairness-keys] tbody tr');
      await expect
        .poll(
          () => keys.evaluateAll((rows) => rows.map((r) => r.getAttribute('data-fairness-key'))),
          poll,
        )
        .toEqual(['tenant-a', 'tenant-b']);
      await expect
        .poll(
          () =>
            page.locator('[data-fairness-key="tenant-a"] [data-testid=key-queued]').textContent(),
          poll,
        )
        .toBe('3');
      await expect.poll(() => page.locator('[data-testid=depth]').textContent(), poll).toBe('4');
      await client.cancel(ids[0]!);
      await client.cancel(ids[1]!);
      await expect.poll(() => depth.textContent(), poll).toBe('2');
      await expect.poll(() => page.locator('[data-testid=depth]').textContent(), poll).toBe('2');
      // A page opened later starts from the tasks queued then.
      await page.reload();
      await expect.poll(() => depth.textContent(), poll).toBe('2');
      for (const id of ids.slice(2)) await client.cancel(id);
      await expect.poll(() => depth.textContent(), poll).toBe('0');
    });

    it('replays a dead letter from the page, and deletes several', async () => {
      await page.goto(`${server.url}/ui/#/dead-letters`);
      page.on('dialog', (d) => void d.accept());
      const dead: string[] = [];
      for (let i = 0; i < 3; i++) {
        const { id } = await client.submit({
          capability: 'echo',
          payload: { fail: true },
          maxAttempts: 1,
        });
        dead.push(id);
      }
      const row = (id: string) => page.locator(`[data-dead="${id}"]`);
      for (const id of dead) await row(id).waitFor();
      await expect(row(dead[0]!).textContent()).resolves.toContain('asked to fail');

      failing = false;
      await row(dead[0]!).getByRole('button', { name: 'Replay' }).click();
      await expect
        .poll(() => page.locator('[data-testid=dlq-message]').textContent(), poll)
        .toContain('Replayed 1 of 1');
      await expect
        .poll(async () => (await client.getTask(dead[0]!)).status, poll)
        .toBe('completed');
      await row(dead[0]!).waitFor({ state: 'detached' });

      await page.getByLabel('Select all').check();
      await page.getByRole('button', { name: /Delete selected/ }).click();
      await expect
        .poll(() => page.locator('[data-testid=dlq-message]').textContent(), poll)
        .toContain('Deleted 2 of 2');
      await expect((await client.deadLetters()).tasks).toEqual([]);
      await page.locator('[data-testid=dead-letters]').getByText('No dead letter.').waitFor();
    });

    it("shows a task's detail and cancels it", async () => {
      const { id } = await client.submit({ capability: 'nobody', idempotencyKey: 'ui-detail-1' });
      await page.goto(`${server.url}/ui/#/tasks`);
      await page.getByPlaceholder('Task id or idempotency key').fill(id);
      await page.getByRole('button', { name: 'Find' }).click();
      const detail = page.locator('[data-testid=task-detail]');
      await detail.waitFor();
      await expect.poll(() => detail.locator('dl').textContent(), poll).toContain('ui-detail-1');
      await expect(detail.locator('[data-testid=task-status]').first().textContent()).resolves.toBe(
        'queued',
      );
      await detail.getByRole('button', { name: 'Cancel' }).click();
      await expect
        .poll(() => detail.locator('[data-testid=task-status]').first().textContent(), poll)
        .toBe('cancelled');
      await expect.poll(async () => (await client.getTask(id)).status, poll).toBe('cancelled');

      // Found again by its idempotency key, then among the cancelled tasks of its capability.
      await page.goto(`${server.url}/ui/#/tasks`);
      await page.getByPlaceholder('Task id or idempotency key').fill('ui-detail-1');
      await page.getByRole('button', { name: 'Find' }).click();
      const rows = page.locator('[data-testid=task-list] tbody tr');
      await expect.poll(() => rows.allTextContents(), poll).toEqual([expect.stringContaining(id)]);
      await page.getByPlaceholder('Task id or idempotency key').fill('');
      await page.getByPlaceholder('Capability').fill('nobody');
      await page.locator('select[name=status]').selectOption('cancelled');
      await page.getByRole('button', { name: 'Find' }).click();
      await expect
        .poll(async () => (await rows.allTextContents()).some((text) => text.includes(id)), poll)
        .toBe(true);
      for (const text of await rows.allTextContents()) expect(text).toContain('cancelled');
    });
  });

  describe('with auth on', () => {
    let sb: Switchboard;
    let server: PrefixedServer;

    beforeAll(async () => {
      sb = createSwitchboard();
      await sb.start();
      server = await servePrefixed(sb, {
        tokens: { admin: 'admin-secret', client: 'client-secret', agent: 'agent-secret' },
      });
    }, HOOK_MS);
    afterAll(async () => {
      await server?.close();
      await sb?.shutdown({ drain: false });
    }, HOOK_MS);

    it('asks for a token, refuses a wrong one, and shows a client token no admin action', async () => {
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on('console', (m) => {
        // The browser reports each refused call (the sign-in's probes) as a failed resource.
        if (m.type() === 'error' && !/status of 40[13]/.test(m.text())) problems.push(m.text());
      });
      page.on('pageerror', (e) => problems.push(`uncaught: ${e.message}`));
      await page.goto(`${server.url}/ui/`);
      const login = page.locator('[data-testid=login]');
      await login.waitFor();
      await login.getByPlaceholder('Bearer token').fill('wrong');
      await login.getByRole('button', { name: 'Sign in' }).click();
      await login.getByText('That token was refused').waitFor();

      await login.getByPlaceholder('Bearer token').fill('client-secret');
      await login.getByRole('button', { name: 'Sign in' }).click();
      await expect
        .poll(() => page.locator('[data-testid=scope]').textContent(), poll)
        .toBe('client token');
      await page.goto(`${server.url}/ui/#/dead-letters`);
      await expect
        .poll(() => page.locator('[data-testid=admin-only]').textContent(), poll)
        .toContain('need an admin token');
      await expect(page.getByRole('button', { name: 'Replay' }).count()).resolves.toBe(0);

      // The token is kept for the tab: a reload signs in again without asking.
      await page.reload();
      await expect
        .poll(() => page.locator('[data-testid=scope]').textContent(), poll)
        .toBe('client token');
      await page.getByRole('button', { name: 'Sign out' }).click();
      await login.waitFor();

      // An agent token sees the agents, and the page says why it shows no stats.
      await login.getByPlaceholder('Bearer token').fill('agent-secret');
      await login.getByRole('button', { name: 'Sign in' }).click();
      await expect
        .poll(() => page.locator('[data-testid=scope]').textContent(), poll)
        .toBe('agent token');
      await page.goto(`${server.url}/ui/#/queues`);
      await page.getByText('An agent token may not read the stats').waitFor();
      await page.close();
      expect(problems).toEqual([]);
    });
  });
});
