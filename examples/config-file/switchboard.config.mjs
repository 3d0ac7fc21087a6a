// switchboard.config.mjs
export default {
  switchboard: { loadBalancer: 'least-busy' },
  rateLimits: { perIp: { capacity: 200, refillPerSec: 100 } },
  agents: [{ name: 'echo', capabilities: ['echo'], handle: (payload) => ({ echoed: payload }) }],
};
