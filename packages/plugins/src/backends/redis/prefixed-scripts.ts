import { SwitchboardError } from '@switchboard/core';
import type { Redis } from 'ioredis';
import { outage } from './redis-client.js';
import type { RedisLink } from './redis-link.js';

// Scripts that take no keys and the key prefix as their first argument: the agent
// directory's and the schedule store's.

/** Defines each script of `scripts` on `client` under its name. */
export function defineScriptSet(client: Redis, scripts: Readonly<Record<string, string>>): void {
  for (const [name, lua] of Object.entries(scripts)) {
    client.defineCommand(name, { numberOfKeys: 0, lua });
  }
}

/** Runs the script `name` with `prefix` and `args`; failing to reach Redis is `unavailable`. */
export async function runPrefixed<T>(
  link: RedisLink,
  prefix: string,
  name: string,
  args: readonly string[],
): Promise<T> {
  const client = await link.client();
  const call = (client as unknown as Record<string, (a: string[]) => Promise<unknown>>)[name];
  if (call === undefined) throw new SwitchboardError('internal', `[redis] no script ${name}`);
  try {
    return (await call.call(client, [prefix, ...args])) as T;
  } catch (err) {
    if (err instanceof SwitchboardError) throw err;
    throw outage(name, err);
  }
}
