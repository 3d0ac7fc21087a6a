/**
 * Whether the Rust addon is built and loads here. Suites that need it use
 * `describe.skipIf(!native)`, and the reason is printed once so that a run without a Rust
 * toolchain says plainly that the native tests were skipped and why.
 */
import { loadNative } from '../src/loader.js';

const load = loadNative();

/** The addon, when it loaded. */
export const addon = load.addon;

/** True when the native suites can run. */
export const native = addon !== undefined;

if (!native) {
  const causes = (load.errors ?? []).map((e) => `  - ${e.message}: ${String(e.cause)}`).join('\n');
  console.warn(`@switchboard/native: native tests skipped: ${load.reason}\n${causes}`);
}
