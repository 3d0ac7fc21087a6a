// The no-op task of isolate.bench.mjs, in the shapes its sides load from a file: the default
// export is the function a Piscina worker and a BullMQ sandboxed processor call, and `agent`
// is the agent spec that `isolate()` runs in a thread or a process (and the in-process side
// runs as is). The same file for all of them, so each side loads the same code.

/** Piscina's task function and BullMQ's sandboxed processor. */
export default async function noop() {
  return { ok: true };
}

/** The agent of the Switchboard sides: one capability, a no-op handler. */
export const agent = {
  name: 'noop',
  capabilities: ['noop'],
  handle: noop,
};
