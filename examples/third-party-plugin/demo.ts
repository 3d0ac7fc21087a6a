import { createSwitchboard, defineAgent } from '@switchboard/core';
import latency from 'switchboard-plugin-latency';

// Two agents of one capability, one twenty times slower than the other.
const timed = (name: string, ms: number) =>
  defineAgent({
    name,
    capabilities: ['llm'],
    handle: () => new Promise<string>((resolve) => setTimeout(() => resolve(name), ms)),
  });

const sb = createSwitchboard({
  plugins: [latency],
  loadBalancer: { name: 'least-latency', options: { maxErrorRate: 0.2 } },
  recovery: 'restart-then-give-up',
  agents: [timed('slow', 40), timed('fast', 2)],
});
await sb.start();

// One task after another, so that each choice sees the latencies measured so far: each agent
// is tried once while unmeasured, then the fast one gets the rest.
const placed: Record<string, number> = {};
for (let i = 0; i < 20; i++) {
  const agent = await sb.run<string>({ capability: 'llm', payload: i });
  placed[agent] = (placed[agent] ?? 0) + 1;
}
await sb.shutdown({ drain: true });

console.log(JSON.stringify(placed));
