import { createSwitchboard, isSwitchboardError, type Switchboard } from '@switchboard/core';
import { createJournalBackend, nodeFs } from '@switchboard/plugins/journal';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDirs } from './helpers.js';

const dirs = tempDirs();
afterAll(() => dirs.cleanup());

/** A Switchboard on the journal in `dir`, started. */
async function open(dir: string, over: { compactAfterBytes?: number; lock?: boolean } = {}) {
  const { lock: _lock, ...unlocked } = nodeFs();
  const sb = createSwitchboard({
    backend: createJournalBackend({
      dir,
      ...(over.compactAfterBytes === undefined
        ? {}
        : { compactAfterBytes: over.compactAfterBytes }),
      ...(over.lock === false ? { fs: unlocked } : {}),
    }),
  });
  await sb.start();
  return sb;
}

describe('journal: remote agents outlive a restart', () => {
  it('knows an agent registered before a restart, and forgets one that left', async () => {
    const dir = dirs.make();
    const first = await open(dir);
    const stays = first.registerRemote({
      name: 'crawler',
      capabilities: [{ name: 'browser', version: '2' }],
      maxConcurrency: 3,
      metadata: { region: 'eu' },
    });
    const goes = first.registerRemote({ name: 'gone', capabilities: ['browser'] });
    await first.leave(goes.id);
    const { id } = await first.submit({ capability: 'browser', payload: 'page' });
    await first.shutdown({ drain: false });

    const second = await open(dir);
    // No second registration: the agent heartbeats and leases as before the restart.
    expect(second.heartbeat(stays.id)).toMatchObject({ id: stays.id, name: 'crawler' });
    expect(second.getAgent(stays.id)).toMatchObject({
      maxConcurrency: 3,
      metadata: { region: 'eu' },
      capabilities: [{ name: 'browser', version: '2' }],
    });
    const [lease] = await second.lease(stays.id, { max: 1 });
    expect(lease?.id).toBe(id);
    expect(() => second.heartbeat(goes.id)).toThrow(expect.objectContaining({ code: 'not_found' }));
    expect(second.listAgents().map((a) => a.id)).toEqual([stays.id]);
    await second.shutdown({ drain: false });
  });

  it('keeps registrations through a compaction (they are in the snapshot)', async () => {
    const dir = dirs.make();
    const first = await open(dir, { compactAfterBytes: 2048 });
    const agent = first.registerRemote({ name: 'w', capabilities: ['job'] });
    // Enough work to pass compactAfterBytes a few times over.
    for (let i = 0; i < 20; i++) {
      await first.submitMany(Array.from({ length: 20 }, () => ({ capability: 'job', payload: i })));
    }
    const stats = (
      first.backend as unknown as { journalStats(): { compactions: number } }
    ).journalStats();
    expect(stats.compactions).toBeGreaterThan(0);
    await first.shutdown({ drain: false });
    const second = await open(dir);
    expect(second.heartbeat(agent.id).id).toBe(agent.id);
    await second.shutdown({ drain: false });
  });

  it('after a crash (no shutdown), the agent reconnects without registering', async () => {
    const dir = dirs.make();
    // Without the lock: the crashed Switchboard lives on in this process (as a killed one's
    // lock would be stale and taken over, see dir-lock.test.ts).
    const crashed: Switchboard = await open(dir, { lock: false });
    const agent = crashed.registerRemote({ name: 'w', capabilities: ['job'] });
    // Frames are written in order: once a later submit is acknowledged (durable), the
    // registration before it is too.
    await crashed.submit({ capability: 'job' });
    const after = await open(dir, { lock: false });
    const view = after.heartbeat(agent.id);
    expect(view.id).toBe(agent.id);
    const unknown = (() => {
      try {
        after.heartbeat('never-registered');
      } catch (error) {
        return error;
      }
    })();
    expect(isSwitchboardError(unknown, 'not_found')).toBe(true);
    await after.shutdown({ drain: false });
    await crashed.shutdown({ drain: false });
  });
});
