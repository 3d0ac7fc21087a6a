/**
 * `switchboard-plugin-latency`: a third-party Switchboard plugin built only against the
 * public API of `@switchboard/core`. It ships a `least-latency` load balancer and a
 * `restart-then-give-up` recovery strategy, usable as objects or by name once the plugin
 * is installed.
 *
 * @example
 * ```ts
 * import { createSwitchboard } from '@switchboard/core'
 * import latency from 'switchboard-plugin-latency'
 * const sb = createSwitchboard({
 *   plugins: [latency],
 *   loadBalancer: { name: 'least-latency', options: { maxErrorRate: 0.2 } },
 *   recovery: 'restart-then-give-up',
 * })
 * ```
 */
import { definePlugin, type SwitchboardPlugin } from '@switchboard/core';
import { LEAST_LATENCY, type LeastLatencyOptions, leastLatency } from './least-latency.js';
import { PACKAGE } from './options.js';
import {
  RESTART_THEN_GIVE_UP,
  type RestartThenGiveUpOptions,
  restartThenGiveUp,
} from './restart-then-give-up.js';

export { LEAST_LATENCY, type LeastLatencyOptions, leastLatency } from './least-latency.js';
export { PACKAGE } from './options.js';
export {
  RESTART_THEN_GIVE_UP,
  type RestartThenGiveUpOptions,
  restartThenGiveUp,
} from './restart-then-give-up.js';

/** The plugin: registers `least-latency` and `restart-then-give-up` on one Switchboard. */
export const latencyPlugin: SwitchboardPlugin = definePlugin({
  name: PACKAGE,
  setup(ctx) {
    ctx.loadBalancer<LeastLatencyOptions | undefined>(LEAST_LATENCY, leastLatency);
    ctx.recovery<RestartThenGiveUpOptions | undefined>(RESTART_THEN_GIVE_UP, restartThenGiveUp);
  },
});

export default latencyPlugin;
