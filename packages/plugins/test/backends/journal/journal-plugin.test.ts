import { createSwitchboard } from '@switchboard/core';
import { createJournalBackend, journalPlugin } from '@switchboard/plugins/journal';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDirs } from './helpers.js';

const dirs = tempDirs();
afterAll(() => dirs.cleanup());

describe('journalPlugin', () => {
  it('lets a Switchboard select the journal by name, and its tasks outlive it', async () => {
    const dir = dirs.make();
    const sb = createSwitchboard({
      plugins: [journalPlugin],
      backend: { name: 'journal', options: { dir } },
    });
    expect(sb.backend).toMatchObject({ name: 'journal', durable: true });
    await sb.start();
    const handle = await sb.submit({ capability: 'browser', idempotencyKey: 'order-42' });
    await sb.shutdown({ drain: false });

    const backend = createJournalBackend({ dir });
    await backend.open();
    expect(await backend.get(handle.id)).toMatchObject({
      status: 'queued',
      capability: 'browser',
      idempotencyKey: 'order-42',
    });
    await backend.close();
  });
});
