import { createSwitchboard, defineAgent } from '@switchboard/core';

const summarizer = defineAgent({
  name: 'summarizer',
  capabilities: [{ name: 'llm', version: '2' }],
  config: { maxConcurrency: 4 },
  async handle(payload: { text: string }, ctx) {
    return { summary: payload.text.slice(0, 40), attempt: ctx.attempt };
  },
});

const sb = createSwitchboard({ agents: [{ definition: summarizer, min: 2 }] });
await sb.start();
const result = await sb.run({ capability: 'llm', payload: { text: 'hello' }, priority: 'high' });

// Many at once: one promise for the batch, results in input order (rejects with the first
// task that ends without a result). submitMany gives a handle per task instead.
const texts = ['first page', 'second page'];
const summaries = await sb.runMany(texts.map((text) => ({ capability: 'llm', payload: { text } })));
await sb.shutdown({ drain: true });

console.log(JSON.stringify({ result, summaries }));
