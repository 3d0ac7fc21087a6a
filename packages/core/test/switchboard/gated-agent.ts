import { defineAgent } from '../../src/agent/definition.js';

/**
 * An agent of capability `double` with one slot, whose handler waits until `open()` is
 * called, then answers `then(payload)`: a task it holds stays running, the others queued.
 */
export function gatedAgent(then: (payload: unknown) => unknown) {
  let release = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const agent = defineAgent({
    name: 'gated',
    capabilities: ['double'],
    config: { maxConcurrency: 1 },
    handle: async (payload: unknown) => {
      await gate;
      return then(payload);
    },
  });
  return { agent, open: () => release() };
}
