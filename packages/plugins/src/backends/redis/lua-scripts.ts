import type { Redis } from 'ioredis';
import { AGENT_LEASES, HANDOFF } from './lua-agent-leases.js';
import { LUA_PRELUDE } from './lua-prelude.js';

// Each body follows LUA_PRELUDE (see there for the arguments and the key layout). Every check
// comes before the first write: a script that answers an error has changed nothing.

const ENQUEUE = `
-- Per task: id, idempotency key ('' for none), capability, priority, availableAt, updatedAt,
-- the hash fields d and s (status queued already), then createdAt (its score in 'made').
local W = 9
local n = tonumber(ARGV[5])
local keys = {}
for t = 1, n do keys[t] = tkey(ARGV[t * W - 3]) end
-- One EXISTS for the batch; only when some task exists is each looked at.
local found = 0
for j = 1, n, 1000 do
  found = found + redis.call('EXISTS', unpack(keys, j, math.min(j + 999, n)))
end
for t = 1, found > 0 and n or 0 do
  local idem = ARGV[t * W - 2]
  if redis.call('EXISTS', keys[t]) == 1
    and (idem == '' or redis.call('HEXISTS', K_IDEM, idem) == 0) then
    return redis.error_reply('CONFLICT exists ' .. (t - 1))
  end
end
local out = {}
for t = 1, n do
  local i = t * W - 3
  local id, idem, cap, prio = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local prior = nil
  if idem ~= '' then
    local first = redis.call('HGET', K_IDEM, idem)
    if first then prior = record(tkey(first)) end
  end
  if prior and prior[1] then
    out[t] = prior
  else
    if idem ~= '' then
      redis.call('HSET', K_IDEM, idem, id)
      redis.call('HSET', keys[t], 'd', ARGV[i + 6], 's', ARGV[i + 7], 'c', cap, 'k', idem)
    else
      redis.call('HSET', keys[t], 'd', ARGV[i + 6], 's', ARGV[i + 7], 'c', cap)
    end
    place(id, cap, prio, tonumber(ARGV[i + 4]), tonumber(ARGV[i + 5]))
    defer('ZADD', K_MADE, ARGV[i + 8], id)
    out[t] = 1
  end
end
return finish(out)
`;

// Answers each leased task as { d, s, e } (it has no result yet): read once, changed in place.
// A cancelled task's id stays in its list (a cancel does not scan the list for it): popped
// here, its state says it is no longer queued, and it is dropped, as is the id of a task
// deleted by hand; the lists are then popped again until the batch is full or they are empty.
const LEASE = `
promote()
local cap, agent = ARGV[5], ' ' .. ARGV[6]
local qs = queues(cap)
local max = #ARGV - 6
local out = {}
local popped = false
-- Worked out once per batch: the expiry and priority of a maxAttempts .. priority piece, and
-- the next value of an attempt count (number formatting is the dear part of a lease).
local fixedOf, nextOf = {}, {}
local lv = 1
while lv <= 4 and #out < max do
  local ids = redis.call('LPOP', qs[lv], max - #out)
  if not ids then
    lv = lv + 1
  else
    popped = true
    for i = 1, #ids do
      local id = ids[i]
      local k = tkey(id)
      local r = redis.call('HMGET', k, 'd', 's', 'e')
      if r[1] and string.sub(r[2], 1, 7) == 'queued ' then
        local a, at, fixed = string.match(r[2], '^%S+ %S+ %S* (%S+) %S* (%S+) (%S+ %S+ %S+)')
        local f = fixedOf[fixed]
        if not f then
          local tmo, prio = string.match(fixed, '^%S+ (%S+) (%S+)$')
          f = { str(now + tonumber(tmo)), prio }
          fixedOf[fixed] = f
        end
        local n = nextOf[a]
        if not n then
          n = tostring(tonumber(a) + 1)
          nextOf[a] = n
        end
        local exp = f[1]
        if #out == 0 then defer('ZADD', K_LEASES, 'inf', KEEP) end
        local s = 'leased ' .. NOW .. ' ' .. ARGV[7 + #out] .. ' ' .. n .. ' ' .. exp .. ' ' .. at
          .. ' ' .. fixed .. agent
        redis.call('HSET', k, 's', s)
        defer('ZADD', K_LEASES, exp, id)
        count(f[2], -1)
        r[2] = s
        out[#out + 1] = r
      end
    end
  end
end
if popped then drained(cap) end
return finish(out)
`;

// Completes a batch of leases, each as if alone (id, token, result JSON or '' for none, now,
// short flag): each item answers its record but the result, or a string (the error's code
// and text). A
// short item (the client holds the record from its lease) reads the state alone and answers
// { leaseExpiresAt }, the one field another holder of the token may have changed since. A
// complete whose reply was lost finds the task completed under its own token: ENDED, so the
// client can tell that retry from a second complete (see RedisBackend.complete).
const COMPLETE = `
local out = {}
for j = 5, #ARGV, 5 do
  local id, token = ARGV[j], ARGV[j + 1]
  NOW = ARGV[j + 3]
  local k = tkey(id)
  local short = ARGV[j + 4] == '1'
  local r, s
  if short then
    s = redis.call('HGET', k, 's')
  else
    -- Not the result: the client has its own.
    r = redis.call('HMGET', k, 'd', 's', 'e')
    s = r[2]
  end
  -- status, token, then the line from attempts on (kept) and leaseExpiresAt (see SPLIT).
  local status, held, rest, exp
  if s then status, held, rest, exp = string.match(s, '^(%S+) %S+ (%S*)( %S+ (%S*) .*)$') end
  if not s then
    out[#out + 1] = 'NOTFOUND no task ' .. id
  elseif status == 'completed' and held == token then
    out[#out + 1] = 'ENDED completed'
  elseif status ~= 'leased' then
    out[#out + 1] = 'CONFLICT ' .. status
  elseif held ~= token then
    out[#out + 1] = 'CONFLICT stale'
  else
    local result = ARGV[j + 2]
    s = 'completed ' .. NOW .. ' ' .. held .. rest
    redis.call('HSET', k, 's', s, 'r', result)
    defer('ZREM', K_LEASES, id)
    if short then
      out[#out + 1] = { exp }
    else
      r[2] = s
      out[#out + 1] = r
    end
    defer('RPUSH', K_RETAINED, id)
  end
end
now = tonumber(NOW)
flush()
evict()
return out
`;

const FAIL = `
local id, token, err = ARGV[5], ARGV[6], ARGV[7]
local k = tkey(id)
local f = redis.call('HMGET', k, 's', 'c', 'e')
if f[1] then
  local status, held = string.match(f[1], '^(%S+) %S+ (%S*)')
  if (status == 'queued' or status == 'dead') and held == token and f[3] == err then
    return redis.error_reply('ENDED ' .. status)
  end
end
local st, e = checkLease(f[1], id, token)
if not st then return e end
redis.call('ZREM', K_LEASES, id)
st[UPD] = NOW
if ARGV[8] == '1' and tonumber(st[ATT]) < tonumber(st[MAXATT]) then
  local at = tonumber(ARGV[9])
  st[STATUS], st[AT] = 'queued', str(at)
  redis.call('HSET', k, 's', line(st), 'e', err)
  place(id, f[2], st[PRIO], at, now)
  return finish(record(k))
end
st[STATUS] = 'dead'
redis.call('HSET', k, 's', line(st), 'e', err)
return finish(kill(id, k))
`;

const EXTEND = `
local id = ARGV[5]
local k = tkey(id)
local st, e = checkLease(redis.call('HGET', k, 's'), id, ARGV[6])
if not st then return e end
local exp = str(now + tonumber(ARGV[7]))
st[EXP], st[UPD] = exp, NOW
redis.call('HSET', k, 's', line(st))
redis.call('ZADD', K_LEASES, exp, id)
return record(k)
`;

// A lease holder's report: ARGV[7] the lease's new length ('' for the task's timeoutMs),
// ARGV[8] the progress as JSON ('' for none).
const PROGRESS = `
local id = ARGV[5]
local k = tkey(id)
local st, e = checkLease(redis.call('HGET', k, 's'), id, ARGV[6])
if not st then return e end
local ms = ARGV[7] == '' and tonumber(st[TMO]) or tonumber(ARGV[7])
local exp = str(now + ms)
st[EXP], st[UPD] = exp, NOW
if ARGV[8] == '' then
  redis.call('HSET', k, 's', line(st))
else
  redis.call('HSET', k, 's', line(st), 'g', ARGV[8])
end
redis.call('ZADD', K_LEASES, exp, id)
return record(k)
`;

const RELEASE = `
local out = {}
for j = 6, #ARGV, 2 do
  local id = ARGV[j]
  local f = redis.call('HMGET', tkey(id), 's', 'c')
  if f[1] then
    local st = parse(f[1])
    if st[STATUS] == 'leased' and st[TOKEN] == ARGV[j + 1] then
      out[#out + 1] = endLease(id, ARGV[5], f)
    end
  end
end
return finish(out)
`;

const CANCEL = `
local id = ARGV[5]
local k = tkey(id)
local f = redis.call('HMGET', k, 's', 'c')
if not f[1] then return redis.error_reply('NOTFOUND no task ' .. id) end
local st = parse(f[1])
if st[STATUS] == 'queued' then
  redis.call('HINCRBY', K_COUNTS, st[PRIO], -1)
  -- A delayed task leaves the delay set; an available one's id stays in its list, where the
  -- lease that pops it drops it (the state below says cancelled): no scan of the list.
  redis.call('ZREM', K_DELAYED, id)
elseif st[STATUS] == 'leased' then
  redis.call('ZREM', K_LEASES, id)
else
  return redis.error_reply('CONFLICT ' .. st[STATUS])
end
st[STATUS], st[UPD] = 'cancelled', NOW
redis.call('HSET', k, 's', line(st))
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
  local f = redis.call('HMGET', tkey(due[i]), 's', 'c')
  if f[1] then
    out[#out + 1] = endLease(due[i], ARGV[5], f)
  else
    -- Deleted by hand: drop the entry rather than fail every sweep from now on.
    redis.call('ZREM', K_LEASES, due[i])
  end
end
evict()
return finish(out)
`;

// A capability is ready when one of its lists starts with a queued task: the ids of cancelled
// tasks at the head of a list are dropped here (see LEASE), so that a capability whose last
// queued task was cancelled stops being ready at once.
const READY = `
promote()
local caps = redis.call('SMEMBERS', K_CAPS)
local out = {}
for i = 1, #caps do
  local qs = queues(caps[i])
  local live = false
  for lv = 1, 4 do
    local id = redis.call('LINDEX', qs[lv], 0)
    while id do
      local s = redis.call('HGET', tkey(id), 's')
      if s and string.sub(s, 1, 7) == 'queued ' then
        live = true
        break
      end
      redis.call('LPOP', qs[lv])
      id = redis.call('LINDEX', qs[lv], 0)
    end
    if live then break end
  end
  if live then out[#out + 1] = caps[i] else drained(caps[i]) end
end
return finish(out)
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
redis.call('LREM', K_RETAINED, 1, id)
local f = redis.call('HMGET', k, 's', 'c')
local st = parse(f[1])
st[STATUS], st[ATT], st[AT], st[UPD] = 'queued', '0', NOW, NOW
redis.call('HSET', k, 's', line(st))
redis.call('HDEL', k, 'e')
place(id, f[2], st[PRIO], now, now)
return finish(record(k))
`;

const DELETE_DEAD = `
local id = ARGV[5]
if not redis.call('ZSCORE', K_DEAD, id) then return redis.error_reply('NOTFOUND no dead letter ' .. id) end
redis.call('LREM', K_RETAINED, 1, id)
forget(id)
return 1
`;

const STATS = `
local c = redis.call('HMGET', K_COUNTS, 'critical', 'high', 'normal', 'low')
return { c[1] or 0, c[2] or 0, c[3] or 0, c[4] or 0,
  redis.call('ZCOUNT', K_LEASES, '-inf', '(inf'), redis.call('ZCARD', K_DELAYED), redis.call('ZCARD', K_DEAD) }
`;

// One page of tasks, newest first, read from 'made' (ids by createdAt; ties by id, as Redis
// orders equal scores). ARGV[5] limit, ARGV[6] and ARGV[7] the cursor's createdAt and id ('' for
// none), ARGV[8] status, ARGV[9] capability, ARGV[10] idempotency key ('' for any). It looks at
// no more than SCAN entries of 'made' a call, so a filter that matches few tasks answers a
// short page and the cursor where it stopped, instead of holding the server for a long scan.
// Answers { cursor createdAt, cursor id, records } ('' cursor: nothing more).
const LIST = `
local SCAN = 10000
local limit, cAt, cId = tonumber(ARGV[5]), ARGV[6], ARGV[7]
local want, cap, key = ARGV[8], ARGV[9], ARGV[10]
local function fits(k)
  local f = redis.call('HMGET', k, 's', 'c')
  return f[1] and (want == '' or string.match(f[1], '^%S+') == want) and (cap == '' or f[2] == cap)
end
-- The rank the page starts at: after the cursor's entry. An entry evicted since is put back for
-- the moment it takes to learn its rank, so that Redis's own order says where it stood.
local start = 0
if cAt ~= '' then
  local r = redis.call('ZREVRANK', K_MADE, cId)
  if not r then
    redis.call('ZADD', K_MADE, cAt, cId)
    r = redis.call('ZREVRANK', K_MADE, cId)
    redis.call('ZREM', K_MADE, cId)
    start = r
  else
    start = r + 1
  end
end
local out = {}
if key ~= '' then
  local id = redis.call('HGET', K_IDEM, key)
  if id then
    local r = redis.call('ZREVRANK', K_MADE, id)
    if r and r >= start and fits(tkey(id)) then out[1] = record(tkey(id)) end
  end
  return { '', '', out }
end
local pos, seen = start, 0
while seen < SCAN do
  local n = math.min(SCAN - seen, 500)
  local chunk = redis.call('ZREVRANGE', K_MADE, pos, pos + n - 1, 'WITHSCORES')
  for j = 1, #chunk, 2 do
    local k = tkey(chunk[j])
    seen = seen + 1
    if fits(k) then
      out[#out + 1] = record(k)
      if #out == limit then
        if #redis.call('ZREVRANGE', K_MADE, pos + (j + 1) / 2, pos + (j + 1) / 2) == 0 then
          return { '', '', out }
        end
        return { chunk[j + 1], chunk[j], out }
      end
    end
  end
  if #chunk < 2 * n then return { '', '', out } end
  pos = pos + n
  if seen >= SCAN then return { chunk[#chunk], chunk[#chunk - 1], out } end
end
return { '', '', out }
`;

/** The scripts of the Redis backend by command name, each with the prelude in front. */
export const LUA_SCRIPTS = {
  sbEnqueue: ENQUEUE,
  sbLease: LEASE,
  sbComplete: COMPLETE,
  sbFail: FAIL,
  sbExtend: EXTEND,
  sbProgress: PROGRESS,
  sbRelease: RELEASE,
  sbCancel: CANCEL,
  sbExpire: EXPIRE,
  sbReady: READY,
  sbDead: DEAD,
  sbList: LIST,
  sbReplay: REPLAY,
  sbDeleteDead: DELETE_DEAD,
  sbStats: STATS,
  sbHandOff: HANDOFF,
  sbAgentLeases: AGENT_LEASES,
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
