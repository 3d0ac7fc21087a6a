import { createJournalBackend } from '@switchboard/plugins/journal';
import { fairnessPolicy, T0, taskRecords } from '@switchboard/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDirs } from './helpers.js';

const dirs = tempDirs();
afterAll(() => dirs.cleanup());

const AGENT = 'remote-1';
const agent = {
  id: AGENT,
  name: AGENT,
  role: 'worker' as const,
  version: '1',
  capabilities: [{ name: 'cap', type: 'cap', version: '1' }],
  maxConcurrency: 10,
  metadata: {},
  state: 'ready' as const,
  registeredAt: T0,
  lastHeartbeatAt: T0,
  heartbeatIntervalMs: 1000,
  heartbeatTimeoutMs: 3000,
  owner: 'test',
};

describe('journal: fairness across a restart', () => {
  it("keeps counting a key's leases kept for a remote agent, even over a cap lowered since", async () => {
    const dir = dirs.make();
    const task = taskRecords('jf', { capability: 'cap', fairnessKey: 'tenant' });
    const first = createJournalBackend({ dir, onWarning: () => {} });
    await first.open();
    await first.agents?.put(agent);
    await first.enqueue([task(), task(), task(), task()]);
    const leased = await first.lease({ capability: 'cap', agentId: AGENT, max: 2, now: T0 });
    const leases = leased.map((t) => ({ id: t.id, leaseToken: t.leaseToken as string }));
    await first.handOff?.(leases, AGENT, T0);
    await first.close();

    // The next start has a cap of 1, given before the journal is read back.
    const second = createJournalBackend({ dir, onWarning: () => {} });
    await second.fairness.configure(fairnessPolicy({ maxConcurrency: 1 }));
    await second.open();
    try {
      for (const t of leased) expect((await second.get(t.id))?.status).toBe('leased');
      expect(await second.fairness.leased('tenant')).toBe(2);
      expect(await second.lease({ capability: 'cap', agentId: AGENT, max: 5, now: T0 })).toEqual(
        [],
      );
      await second.complete(leases[0]!.id, leases[0]!.leaseToken, null, T0);
      // Still at its cap of 1: the other kept lease holds it.
      expect(await second.lease({ capability: 'cap', agentId: AGENT, max: 5, now: T0 })).toEqual(
        [],
      );
      await second.complete(leases[1]!.id, leases[1]!.leaseToken, null, T0);
      const next = await second.lease({ capability: 'cap', agentId: AGENT, max: 5, now: T0 });
      expect(next).toHaveLength(1);
      expect(await second.fairness.leased('tenant')).toBe(1);
    } finally {
      await second.close();
    }
  });
});
