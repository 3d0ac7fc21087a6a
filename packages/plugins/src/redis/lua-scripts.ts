import type { Redis } from 'ioredis';
import { LUA_PRELUDE } from './lua-prelude.js';

// Each body follows LUA_PRELUDE (see there for the arguments and the key layout). Every check
// comes before the first write: a script that answers an error has changed nothing.

const ENQUEUE = `
local n = tonumber(ARGV[5])
local keys = {}
local i = 6
for t = 1, n do
  keys[t] = tkey(ARGV[i])
  i = i + 7 + tonumber(ARGV[i + 6])
end
-- One EXISTS for the batch; only when some task exists is each looked at.
local found = 0
for j = 1, n, 1000 do
  found = found + redis.call('EXISTS', unpack(keys, j, math.min(j + 999, n)))
end
i = 6
for t = 1, found > 0 and n or 0 do
  local idem = ARGV[i + 1]
  if redis.call('EXISTS', keys[t]) == 1
    and (idem == '' or redis.call('HEXISTS', K_IDEM, idem) == 0) then
    return redis.error_reply('CONFLICT exists ' .. (t - 1))
  end
  i = i + 7 + tonumber(ARGV[i + 6])
end
local out = {}
i = 6
for t = 1, n do
  local id, idem, cap, prio = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local nf = tonumber(ARGV[i + 6])
  local prior = nil
  if idem ~= '' then
    local first = redis.call('HGET', K_IDEM, idem)
    if first then prior = record(tkey(first)) end
  end
  if prior and prior[1] then
    out[t] = prior
  else
    if idem ~= '' then redis.call('HSET', K_IDEM, idem, id) end
    -- The fields hold status queued and availableAt already: only the sets are left.
    redis.call('HSET', tkey(id), unpack(ARGV, i + 7, i + 6 + nf))
    place(id, cap, prio, tonumber(ARGV[i + 4]), tonumber(ARGV[i + 5]))
    out[t] = 1
  end
  i = i + 7 + nf
end
return finish(out)
`;

const LEASE = `
promote()
local cap, agent = ARGV[5], ARGV[6]
local q = P .. 'q:' .. cap
local popped = redis.call('ZPOPMIN', q, #ARGV - 6)
local out = {}
for j = 1, #popped, 2 do
  local id = popped[j]
  local k = tkey(id)
  -- Read once, changed in place: the reply is the record as written, with no second read.
  local r = record(k)
  -- (A task deleted by hand is skipped.)
  if r[1] then
    local attempts = tostring(tonumber(r[IX.attempts]) + 1)
    local exp = str(now + tonumber(r[IX.timeoutMs]))
    local token = ARGV[6 + (j + 1) / 2]
    redis.call('HSET', k, 'status', 'leased', 'attempts', attempts, 'agentId', agent,
      'leaseToken', token, 'leaseExpiresAt', exp, 'updatedAt', NOW)
    defer('ZADD', K_LEASES, exp, id)
    count(r[IX.priority], -1)
    r[IX.status], r[IX.attempts], r[IX.agentId] = 'leased', attempts, agent
    r[IX.leaseToken], r[IX.leaseExpiresAt], r[IX.updatedAt] = token, exp, NOW
    out[#out + 1] = r
  end
end
if #popped > 0 and redis.call('EXISTS', q) == 0 then redis.call('SREM', K_CAPS, cap) end
return finish(out)
`;

// Completes a batch of leases, each as if alone (id, token, has-result flag, result, now,
// short flag): each item answers its record, or a string (the error's code and text). A
// short item (the client holds the record from its lease) reads three fields instead of the
// record and answers { leaseExpiresAt } alone, the one field another holder of the token may
// have changed since. A complete whose reply was lost finds the task completed under its own
// token: ENDED, so the client can tell that retry from a second complete (see
// RedisBackend.complete).
const COMPLETE = `
local out = {}
for j = 5, #ARGV, 6 do
  local id, token = ARGV[j], ARGV[j + 1]
  NOW = ARGV[j + 4]
  now = tonumber(NOW)
  local k = tkey(id)
  local short = ARGV[j + 5] == '1'
  local r
  if short then
    r = redis.call('HMGET', k, 'status', 'leaseToken', 'leaseExpiresAt')
  else
    r = record(k)
  end
  local status, held = r[short and 1 or IX.status], r[short and 2 or IX.leaseToken]
  if not status then
    out[#out + 1] = 'NOTFOUND no task ' .. id
  elseif status == 'completed' and held == token then
    out[#out + 1] = 'ENDED completed'
  elseif status ~= 'leased' then
    out[#out + 1] = 'CONFLICT ' .. status
  elseif held ~= token then
    out[#out + 1] = 'CONFLICT stale'
  else
    local result = ARGV[j + 2] == '1' and ARGV[j + 3]
    if result then
      redis.call('HSET', k, 'status', 'completed', 'updatedAt', NOW, 'result', result)
    else
      redis.call('HSET', k, 'status', 'completed', 'updatedAt', NOW)
      redis.call('HDEL', k, 'result')
    end
    defer('ZREM', K_LEASES, id)
    if short then
      out[#out + 1] = { r[3] }
    else
      r[IX.status], r[IX.updatedAt], r[IX.result] = 'completed', NOW, result
      out[#out + 1] = r
    end
    defer('ZADD', K_RETAINED, NOW, id)
  end
end
flush()
evict()
return out
`;

const FAIL = `
local id, token, err = ARGV[5], ARGV[6], ARGV[7]
local k = tkey(id)
local f = redis.call('HMGET', k, 'status', 'leaseToken', 'error')
if (f[1] == 'queued' or f[1] == 'dead') and f[2] == token and f[3] == err then
  return redis.error_reply('ENDED ' .. f[1])
end
local e = checkLease(id, token)
if e then return e end
redis.call('HSET', k, 'error', err, 'updatedAt', NOW)
redis.call('ZREM', K_LEASES, id)
local g = redis.call('HMGET', k, 'attempts', 'maxAttempts', 'capability', 'priority')
if ARGV[8] == '1' and tonumber(g[1]) < tonumber(g[2]) then
  queue(id, g[3], g[4], tonumber(ARGV[9]), now)
  return finish(record(k))
end
return finish(kill(id))
`;

const EXTEND = `
local id = ARGV[5]
local e = checkLease(id, ARGV[6])
if e then return e end
local exp = str(now + tonumber(ARGV[7]))
redis.call('HSET', tkey(id), 'leaseExpiresAt', exp, 'updatedAt', NOW)
redis.call('ZADD', K_LEASES, exp, id)
return record(tkey(id))
`;

const RELEASE = `
local out = {}
for j = 6, #ARGV, 2 do
  local id = ARGV[j]
  local f = redis.call('HMGET', tkey(id), 'status', 'leaseToken')
  if f[1] == 'leased' and f[2] == ARGV[j + 1] then out[#out + 1] = endLease(id, ARGV[5]) end
end
return finish(out)
`;

const CANCEL = `
local id = ARGV[5]
local k = tkey(id)
local f = redis.call('HMGET', k, 'status', 'capability', 'priority')
if not f[1] then return redis.error_reply('NOTFOUND no task ' .. id) end
if f[1] == 'queued' then
  redis.call('HINCRBY', K_COUNTS, f[3], -1)
  local q = P .. 'q:' .. f[2]
  if redis.call('ZREM', q, id) == 1 then
    if redis.call('EXISTS', q) == 0 then redis.call('SREM', K_CAPS, f[2]) end
  else
    redis.call('ZREM', K_DELAYED, id)
  end
elseif f[1] == 'leased' then
  redis.call('ZREM', K_LEASES, id)
else
  return redis.error_reply('CONFLICT ' .. f[1])
end
redis.call('HSET', k, 'status', 'cancelled', 'updatedAt', NOW)
local rec = record(k)
retire(id)
return rec
`;

// Safe from every process at once: the first run takes the due leases out of 'leases', so a
// concurrent run finds none of them, and each task is requeued once.
const EXPIRE = `
local due = redis.call('ZRANGEBYSCORE', K_LEASES, '-inf', NOW)
local out = {}
for i = 1, #due do
  if redis.call('EXISTS', tkey(due[i])) == 1 then
    out[#out + 1] = endLease(due[i], ARGV[5])
  else
    -- Deleted by hand: drop the entry rather than fail every sweep from now on.
    redis.call('ZREM', K_LEASES, due[i])
  end
end
evict()
return finish(out)
`;

const READY = `
promote()
return finish(redis.call('SMEMBERS', K_CAPS))
`;

const DEAD = `
local limit = tonumber(ARGV[5])
local out = {}
if limit == 0 then return out end
local ids = redis.call('ZRANGE', K_DEAD, 0, limit < 0 and -1 or limit - 1)
for i = 1, #ids do out[i] = record(tkey(ids[i])) end
return out
`;

const REPLAY = `
local id = ARGV[5]
if not redis.call('ZSCORE', K_DEAD, id) then return redis.error_reply('NOTFOUND no dead letter ' .. id) end
local k = tkey(id)
redis.call('ZREM', K_DEAD, id)
redis.call('ZREM', K_RETAINED, id)
redis.call('HSET', k, 'attempts', 0, 'updatedAt', NOW)
redis.call('HDEL', k, 'error')
local f = redis.call('HMGET', k, 'capability', 'priority')
queue(id, f[1], f[2], now, now)
return finish(record(k))
`;

const DELETE_DEAD = `
local id = ARGV[5]
if not redis.call('ZSCORE', K_DEAD, id) then return redis.error_reply('NOTFOUND no dead letter ' .. id) end
redis.call('ZREM', K_RETAINED, id)
forget(id)
return 1
`;

const STATS = `
local c = redis.call('HMGET', K_COUNTS, 'critical', 'high', 'normal', 'low')
return { c[1] or 0, c[2] or 0, c[3] or 0, c[4] or 0,
  redis.call('ZCARD', K_LEASES), redis.call('ZCARD', K_DELAYED), redis.call('ZCARD', K_DEAD) }
`;

/** The scripts of the Redis backend by command name, each with the prelude in front. */
export const LUA_SCRIPTS = {
  sbEnqueue: ENQUEUE,
  sbLease: LEASE,
  sbComplete: COMPLETE,
  sbFail: FAIL,
  sbExtend: EXTEND,
  sbRelease: RELEASE,
  sbCancel: CANCEL,
  sbExpire: EXPIRE,
  sbReady: READY,
  sbDead: DEAD,
  sbReplay: REPLAY,
  sbDeleteDead: DELETE_DEAD,
  sbStats: STATS,
} as const;

/** A script's name. */
export type ScriptName = keyof typeof LUA_SCRIPTS;

/** The full source of a script. */
export function scriptSource(name: ScriptName): string {
  return LUA_PRELUDE + LUA_SCRIPTS[name];
}

/** Defines every script on `client` as a command (`EVALSHA`, loaded again after `NOSCRIPT`). */
export function defineScripts(client: Redis): void {
  for (const name of Object.keys(LUA_SCRIPTS) as ScriptName[]) {
    client.defineCommand(name, { numberOfKeys: 0, lua: scriptSource(name) });
  }
}
