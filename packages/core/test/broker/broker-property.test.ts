import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Delivery } from '../../src/broker/delivery.js';
import { createMessage } from '../../src/broker/message.js';
import { MessageBroker } from '../../src/broker/message-broker.js';
import { PRIORITIES } from '../../src/model/priority.js';

type Behaviour = 'ack' | 'asyncAck' | 'nack' | 'reject' | 'throw' | 'rejectAsync' | 'hold';

const behaviourArb = fc.constantFrom<Behaviour>(
  'ack',
  'asyncAck',
  'nack',
  'reject',
  'throw',
  'rejectAsync',
  'hold',
);
const commandArb = fc.oneof(
  fc.record({
    op: fc.constantFrom('send' as const, 'publish' as const),
    priority: fc.constantFrom(...PRIORITIES),
    ttlMs: fc.constantFrom(undefined, 50, 500),
  }),
  fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 250 }) }),
  fc.record({ op: fc.constant('settleHeld' as const), pick: fc.nat(), ack: fc.boolean() }),
);

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('MessageBroker delivery guarantee', () => {
  it('acks every message exactly once or dead-letters it: none lost, none both', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(commandArb, { maxLength: 40 }),
        fc.array(behaviourArb, { minLength: 1, maxLength: 16 }),
        fc.integer({ min: 1, max: 4 }),
        async (commands, behaviours, prefetch) => {
          const broker = new MessageBroker({
            visibilityTimeoutMs: 100,
            maxDeliveries: 3,
            prefetch,
          });
          const acks = new Map<string, number>();
          const expected = new Set<string>();
          const held: { d: Delivery; key: string }[] = [];
          const violations: string[] = [];
          let turn = 0;
          const record = (key: string, settled: boolean) => {
            if (settled) acks.set(key, (acks.get(key) ?? 0) + 1);
          };
          const consumer = (name: string) => async (d: Delivery) => {
            const key = `${name}|${d.message.id}`;
            // Once acked for a consumer, a message must never reach that consumer again. (An
            // expect() here would throw into the broker, which takes it as a nack.)
            if (acks.has(key)) violations.push(`redelivered after ack: ${key}`);
            switch (behaviours[turn++ % behaviours.length]!) {
              case 'ack':
                return record(key, d.ack());
              case 'asyncAck':
                await Promise.resolve();
                return record(key, d.ack());
              case 'nack':
                d.nack();
                return;
              case 'reject':
                d.nack({ requeue: false });
                return;
              case 'throw':
                throw new Error('handler failed');
              case 'rejectAsync':
                await Promise.resolve();
                throw new Error('handler rejected');
              case 'hold':
                // Settled later by a command, or left to its visibility timeout.
                held.push({ d, key });
            }
          };
          broker.register('w', consumer('w'));
          broker.subscribe('job.*', consumer('job.*'));
          broker.subscribe('job.**', consumer('job.**'));

          for (const c of commands) {
            if (c.op === 'advance') await vi.advanceTimersByTimeAsync(c.ms);
            else if (c.op === 'settleHeld') {
              const h = held[c.pick % Math.max(1, held.length)];
              if (h !== undefined && c.ack) record(h.key, h.d.ack());
              else h?.d.nack();
            } else {
              const m = createMessage({
                type: 'task',
                sender: 'prop',
                payload: null,
                priority: c.priority,
                ...(c.ttlMs !== undefined && { ttlMs: c.ttlMs }),
                ...(c.op === 'send' ? { recipient: 'w' } : { topic: 'job.run' }),
              });
              if (c.op === 'send') {
                broker.send(m);
                expected.add(`w|${m.id}`);
              } else {
                expect(broker.publish(m)).toBe(2);
                expected.add(`job.*|${m.id}`).add(`job.**|${m.id}`);
              }
            }
            await Promise.resolve();
          }
          // Whatever is still unsettled times out, is redelivered, and runs out of attempts.
          for (let i = 0; i < 20; i++) await vi.advanceTimersByTimeAsync(100);

          expect(violations).toEqual([]);
          const dead = new Map<string, number>();
          for (const entry of broker.deadLetters.list()) {
            const key = `${entry.source?.replace(/#\d+$/, '')}|${entry.message.id}`;
            dead.set(key, (dead.get(key) ?? 0) + 1);
          }
          for (const key of expected) {
            expect((acks.get(key) ?? 0) + (dead.get(key) ?? 0), key).toBe(1);
          }
          expect(acks.size + dead.size).toBe(expected.size);
          const stats = broker.stats();
          expect(stats.acked).toBe(acks.size);
          expect(stats.deadLettered).toBe(dead.size);
          expect(vi.getTimerCount()).toBe(0);
          broker.close();
        },
      ),
      { numRuns: 100 },
    );
  });
});
