// switchboard.config.mjs: a server that installs the plugin and balances by latency.
import latency from 'switchboard-plugin-latency';

/** An agent of `llm` that answers its own name after `ms`. */
const timed = (name, ms) => ({
  name,
  capabilities: ['llm'],
  handle: () => new Promise((resolve) => setTimeout(() => resolve(name), ms)),
});

export default {
  plugins: [latency],
  switchboard: {
    loadBalancer: { name: 'least-latency', options: { maxErrorRate: 0.2 } },
    recovery: 'restart-then-give-up',
  },
  agents: [timed('slow', 40), timed('fast', 2)],
};
