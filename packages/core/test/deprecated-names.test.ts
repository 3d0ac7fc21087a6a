import { BackupCoordinator, createSwitchboard, StandbyReserve } from '@switchboard/core';
import { describe, expect, it } from 'vitest';

// Names renamed by the layout by roles stay importable for one minor version, so that code
// written against the old names keeps working.
describe('deprecated names of @switchboard/core', () => {
  it('BackupCoordinator is StandbyReserve, the class of sb.pool.backups', async () => {
    expect(BackupCoordinator).toBe(StandbyReserve);
    const sb = createSwitchboard();
    expect(sb.pool.backups).toBeInstanceOf(BackupCoordinator);
    await sb.shutdown();
  });
});
