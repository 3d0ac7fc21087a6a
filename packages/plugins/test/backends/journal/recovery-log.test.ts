import {
  createLeaseToken,
  createSwitchboard,
  type LogFields,
  type Logger,
} from '@switchboard/core';
import { createJournalBackend, journalPlugin } from '@switchboard/plugins/journal';
import { afterAll, describe, expect, it } from 'vitest';
import { T0, task, tempDirs } from './helpers.js';

const dirs = tempDirs();
afterAll(() => dirs.cleanup());

/** A logger that keeps its lines. */
function recording(): Logger & { lines: [string, string, LogFields | undefined][] } {
  const lines: [string, string, LogFields | undefined][] = [];
  const at = (level: string) => (msg: string, fields?: LogFields) => {
    lines.push([level, msg, fields]);
  };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

describe('the journal recovery line', () => {
  it('says what each open found: queued, leases ended with the last process, dead letters', async () => {
    const dir = dirs.make();
    const first = recording();
    const backend = createJournalBackend({ dir, logger: first });
    await backend.open();
    expect(first.lines).toEqual([
      [
        'info',
        `journal ${dir} recovered: 0 queued, 0 leases kept for remote agents, 0 ended with the last process (0 of them dead-lettered), 0 requeued unrun, 0 dead letters, 0 remote agents registered`,
        expect.objectContaining({ dir, queued: 0, leasesEnded: 0 }),
      ],
    ]);
    const waiting = task({ priority: 'low' });
    const retried = task({ priority: 'critical', maxAttempts: 2 });
    const last = task({ priority: 'critical', maxAttempts: 1 });
    await backend.enqueue([waiting, retried, last]);
    // Leases of the process's own handlers, which die with it.
    const own = { capability: 'cap', agentId: 'a', token: createLeaseToken() };
    expect(await backend.lease({ ...own, max: 2, now: T0 })).toHaveLength(2);
    await backend.close();

    const second = recording();
    const again = createJournalBackend({ dir, logger: second });
    await again.open();
    expect(second.lines).toEqual([
      [
        'info',
        `journal ${dir} recovered: 2 queued, 0 leases kept for remote agents, 2 ended with the last process (1 of them dead-lettered), 0 requeued unrun, 1 dead letters, 0 remote agents registered`,
        {
          dir,
          queued: 2,
          leasesKept: 0,
          leasesEnded: 2,
          leasesEndedDead: 1,
          leasesRequeued: 0,
          deadLetters: 1,
          agents: 0,
        },
      ],
    ]);
    await again.close();
  });

  it("reaches the Switchboard's logger through journalPlugin, and refuses a bad one", async () => {
    const logger = recording();
    const dir = dirs.make();
    const sb = createSwitchboard({
      plugins: [journalPlugin],
      backend: { name: 'journal', options: { dir } },
      logger,
    });
    await sb.start();
    await sb.shutdown();
    expect(logger.lines.map(([level, msg]) => [level, msg.split(':')[0]])).toEqual([
      ['info', `journal ${dir} recovered`],
    ]);
    expect(() => createJournalBackend({ dir: dirs.make(), logger: {} as Logger })).toThrow(
      /^\[journal\] logger\.debug must be a function/,
    );
  });
});
