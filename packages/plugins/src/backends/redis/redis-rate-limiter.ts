import type { RateDecision, SharedRateLimiter, TokenBucketOptions } from '@switchboard/core';
import { SwitchboardError } from '@switchboard/core';
import type { Redis } from 'ioredis';
import { outage } from './redis-client.js';
import type { RedisLink } from './redis-link.js';

// One token bucket, refilled by elapsed time and taken from atomically: a hash of the tokens
// left (`t`) and the instant they were counted (`a`), expiring once it would be full again
// (an idle key costs nothing). ARGV: key, capacity, refill per second, cost, now (epoch ms).
// Answers { allowed (1/0), wait in ms (-1: never, the cost is over the capacity), tokens left }.
const TAKE = `
local k, cap, rate = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local cost, now = tonumber(ARGV[4]), tonumber(ARGV[5])
local v = redis.call('HMGET', k, 't', 'a')
local tokens, at = tonumber(v[1]) or cap, tonumber(v[2]) or now
if now > at then
  tokens = math.min(cap, tokens + (now - at) * rate / 1000)
  at = now
end
local allowed, wait = 0, 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
elseif cost > cap then
  wait = -1
else
  wait = math.ceil((cost - tokens) * 1000 / rate)
  if tokens + wait * rate / 1000 < cost then wait = wait + 1 end
end
redis.call('HSET', k, 't', string.format('%.17g', tokens), 'a', string.format('%.17g', at))
redis.call('PEXPIRE', k, math.ceil((cap - tokens) * 1000 / rate) + 1000)
return { allowed, wait, math.floor(tokens) }
`;

type Take = (args: readonly string[]) => Promise<[number, number, number]>;

/** Defines the bucket script on a connection (as the backend's other scripts are). */
export function defineRateScript(client: Redis): void {
  client.defineCommand('sbRateTake', { numberOfKeys: 0, lua: TAKE });
}

/**
 * Token buckets in Redis, one per key under `{prefix}:rl:<name>:`, that every process on the
 * same server and prefix draws from: a limit of 100 submits a second is 100 for the cluster,
 * not per process. Each take is one script call, atomic. Instants are the caller's `now`
 * (processes must agree on the clock, as for leases).
 */
export class RedisRateLimiter implements SharedRateLimiter {
  readonly #link: RedisLink;
  readonly #base: string;
  readonly #capacity: string;
  readonly #rate: string;

  constructor(link: RedisLink, keyPrefix: string, name: string, options: TokenBucketOptions) {
    const { capacity, refillPerSec } = options;
    if (!(capacity > 0) || !(refillPerSec > 0)) {
      throw new SwitchboardError(
        'invalid_config',
        `[redis] rate limit ${name}: capacity and refillPerSec must be > 0`,
        { details: { capacity, refillPerSec } },
      );
    }
    this.#link = link;
    this.#base = `${keyPrefix}rl:${name}:`;
    this.#capacity = String(capacity);
    this.#rate = String(refillPerSec);
  }

  async acquire(key: string, cost: number, now: number): Promise<RateDecision> {
    const client = await this.#link.client();
    const args = [this.#base + key, this.#capacity, this.#rate, String(cost), String(now)];
    const [allowed, wait, remaining] = await (client as unknown as { sbRateTake: Take })
      .sbRateTake(args)
      .catch((err: unknown) => {
        throw outage('rate limit', err);
      });
    return {
      allowed: allowed === 1,
      retryAfterMs: wait < 0 ? Number.POSITIVE_INFINITY : wait,
      remaining,
    };
  }
}
