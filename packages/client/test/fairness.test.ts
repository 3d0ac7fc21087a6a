import { createSwitchboard, type Switchboard, type SwitchboardError } from '@switchboard/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The server from its sources by path, as client.test.ts explains.
import { createApp } from '../../server/src/app.js';
import { nodeRuntime } from '../../server/src/node.js';
import type { Listening } from '../../server/src/runtime.js';
import { createClient } from '../src/client.js';

// The fairness endpoints through the typed client, against a real server with auth on.
describe('fairness over HTTP', () => {
  let sb: Switchboard;
  let server: Listening;
  let baseUrl: string;

  beforeAll(async () => {
    sb = createSwitchboard({ fairness: { maxConcurrency: { default: 2 } } });
    await sb.start();
    const app = createApp(sb, { tokens: { admin: 'adm', client: 'cli' } });
    server = await nodeRuntime.serve(app.fetch, { port: 0, host: '127.0.0.1' });
    baseUrl = `http://127.0.0.1:${server.port}`;
  });
  afterAll(async () => {
    await sb.shutdown({ drain: false });
    await server.close();
  });

  it('sets a key with an admin token, which the Switchboard then dispatches by', async () => {
    const admin = createClient({ baseUrl, token: 'adm' });
    const client = createClient({ baseUrl, token: 'cli' });
    expect(await admin.setFairnessKey('team/a', { weight: 5, maxConcurrency: 3 })).toEqual({
      key: 'team/a',
      weight: 5,
      maxConcurrency: 3,
      leased: 0,
      enforced: true,
    });
    // The Switchboard itself holds the new settings.
    expect(await sb.fairness.get('team/a')).toMatchObject({ weight: 5, maxConcurrency: 3 });
    expect(await client.getFairnessKey('team/a')).toMatchObject({ weight: 5 });
    expect(await client.getFairness()).toMatchObject({
      enforced: true,
      maxConcurrency: 2,
      keys: [{ key: 'team/a', weight: 5 }],
    });
    expect(await admin.clearFairnessKey('team/a')).toMatchObject({ weight: 1, maxConcurrency: 2 });
    expect((await client.getFairness()).keys).toEqual([]);
  });

  it('refuses a client token the writes, and a bad setting with its name', async () => {
    const client = createClient({ baseUrl, token: 'cli' });
    const forbidden = (await client
      .setFairnessKey('k', { weight: 2 })
      .catch((e: unknown) => e)) as SwitchboardError;
    expect(forbidden.code).toBe('forbidden');
    const admin = createClient({ baseUrl, token: 'adm' });
    const bad = (await admin
      .setFairnessKey('k', { weight: 0 })
      .catch((e: unknown) => e)) as SwitchboardError;
    expect(bad.code).toBe('invalid_request');
    expect(bad.message).toMatch(/weight/);
  });
});
