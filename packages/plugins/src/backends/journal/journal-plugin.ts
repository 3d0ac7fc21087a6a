import { definePlugin, type SwitchboardPlugin } from '@switchboard/core';
import { createJournalBackend, JOURNAL_BACKEND } from './journal-backend.js';
import type { JournalBackendOptions } from './journal-options.js';

/**
 * Registers the journal backend under the name `journal`. It lives apart from
 * `builtinPlugin` because it imports `node:fs` (Node, Bun and Deno only).
 *
 * @example
 * ```ts
 * import { journalPlugin } from '@switchboard/plugins/journal'
 * const sb = createSwitchboard({
 *   plugins: [journalPlugin],
 *   backend: { name: 'journal', options: { dir: './data/journal' } },
 * })
 * ```
 */
export const journalPlugin: SwitchboardPlugin = definePlugin({
  name: 'switchboard-journal',
  setup(ctx) {
    // The Switchboard's logger hears what each open recovered, unless the options name one.
    ctx.backend<JournalBackendOptions>(JOURNAL_BACKEND, (options) =>
      createJournalBackend({ logger: ctx.logger, ...options }),
    );
  },
});
