import { expect } from 'vitest';

/**
 * Asserts that `promise` rejects with a `SwitchboardError` of `code`. The error is matched
 * by its name and code, not by `instanceof`, so that it holds whichever copy of
 * `@switchboard/core` the implementation under test loaded.
 */
export async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  await expect(promise).rejects.toMatchObject({ name: 'SwitchboardError', code });
}
