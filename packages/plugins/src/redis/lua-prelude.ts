import { RECORD_FIELDS } from './record-codec.js';

/**
 * The Lua every script of the Redis backend starts with: the key layout and the transitions
 * shared by several scripts. A script runs whole or not at all and no other command runs
 * meanwhile, which is what makes each transition atomic across processes.
 *
 * Arguments common to every script: ARGV[1] the key prefix (`{switchboard}:`), ARGV[2] the
 * caller's `now` (epoch ms), ARGV[3] `maxRetained`, ARGV[4] `retainMs` (-1: no limit). A
 * script's own arguments start at ARGV[5].
 *
 * Keys (after the prefix): `t:<id>` a task hash; `q:<capability>` the available tasks, a
 * sorted set scored `level * 2^40 + seq` (strict priority, FIFO within one, across every
 * process); `seq` the sequence; `delayed` ids by `availableAt`; `leases` ids by
 * `leaseExpiresAt`; `dead` ids by the sequence at death; `retained` terminal ids by the instant
 * they ended; `caps` capabilities with available tasks; `counts` queued tasks by priority;
 * `idem` idempotency key → id. Channel `available` carries a capability that got tasks.
 */
export const LUA_PRELUDE = `
local P = ARGV[1]
local NOW = ARGV[2]
local now = tonumber(NOW)
local MAXR = tonumber(ARGV[3])
local RETAIN = tonumber(ARGV[4])
local SHIFT = 1099511627776
local LEVEL = { critical = 0, high = 1, normal = 2, low = 3 }
local K_SEQ, K_DELAYED, K_LEASES = P .. 'seq', P .. 'delayed', P .. 'leases'
local K_DEAD, K_RETAINED, K_CAPS = P .. 'dead', P .. 'retained', P .. 'caps'
local K_COUNTS, K_IDEM = P .. 'counts', P .. 'idem'
local seq = nil
local avail = {}
-- Changes to the queued counts, applied once by finish().
local dcount = {}
local function count(prio, d) dcount[prio] = (dcount[prio] or 0) + d end

local FIELDS = { ${RECORD_FIELDS.map((f) => `'${f}'`).join(', ')} }
local IX = {}
for i = 1, #FIELDS do IX[FIELDS[i]] = i end

local function tkey(id) return P .. 't:' .. id end
-- A record as the client decodes it: the values of FIELDS, in order (false when absent).
local function record(k) return redis.call('HMGET', k, unpack(FIELDS)) end
-- Lua's own number-to-string keeps 14 digits; scores and instants need all of theirs.
local function str(x) return string.format('%.17g', x) end

local function nextSeq()
  if seq == nil then seq = tonumber(redis.call('GET', K_SEQ) or '0') end
  seq = seq + 1
  return seq
end

-- Sorted-set writes gathered per command and key, sent by flush() as one variadic call each
-- (in chunks, under Lua's unpack limit): a call from Lua costs more than the work it does,
-- and a batch of tasks would otherwise pay it once per task and key.
local zbuf, zorder = {}, {}
local function defer(cmd, key, a, b)
  local name = cmd .. ' ' .. key
  local list = zbuf[name]
  if not list then
    list = {}
    zbuf[name] = list
    zorder[#zorder + 1] = { cmd, key, list }
  end
  list[#list + 1] = a
  if b ~= nil then list[#list + 1] = b end
end
local function flush()
  for i = 1, #zorder do
    local cmd, key, list = zorder[i][1], zorder[i][2], zorder[i][3]
    for j = 1, #list, 1000 do redis.call(cmd, key, unpack(list, j, math.min(j + 999, #list))) end
  end
  zbuf, zorder = {}, {}
end

local function available(id, cap, prio)
  defer('ZADD', P .. 'q:' .. cap, LEVEL[prio] * SHIFT + nextSeq(), id)
  if not avail[cap] then
    avail[cap] = true
    redis.call('SADD', K_CAPS, cap)
  end
end

-- Queued at once when at <= ref, else delayed until at; the hash already says so.
local function place(id, cap, prio, at, ref)
  count(prio, 1)
  if at > ref then defer('ZADD', K_DELAYED, str(at), id) else available(id, cap, prio) end
end

local function queue(id, cap, prio, at, ref)
  redis.call('HSET', tkey(id), 'status', 'queued', 'availableAt', str(at))
  place(id, cap, prio, at, ref)
end

local function promote()
  local due = redis.call('ZRANGEBYSCORE', K_DELAYED, '-inf', NOW)
  if #due == 0 then return end
  for i = 1, #due do
    local f = redis.call('HMGET', tkey(due[i]), 'capability', 'priority')
    -- A task deleted by hand must not wedge every later lease.
    if f[1] then available(due[i], f[1], f[2]) end
  end
  redis.call('ZREMRANGEBYSCORE', K_DELAYED, '-inf', NOW)
  -- The caller pops the queues next: they must hold the promoted tasks.
  flush()
end

local function forget(id)
  local k = tkey(id)
  local f = redis.call('HMGET', k, 'status', 'idempotencyKey')
  redis.call('DEL', k)
  if f[1] == 'dead' then redis.call('ZREM', K_DEAD, id) end
  if f[2] and redis.call('HGET', K_IDEM, f[2]) == id then redis.call('HDEL', K_IDEM, f[2]) end
end

local function evict()
  local over = redis.call('ZCARD', K_RETAINED) - MAXR
  if over > 0 then
    local old = redis.call('ZPOPMIN', K_RETAINED, over)
    for i = 1, #old, 2 do forget(old[i]) end
  end
  if RETAIN >= 0 then
    local cut = '(' .. str(now - RETAIN)
    local old = redis.call('ZRANGEBYSCORE', K_RETAINED, '-inf', cut)
    if #old > 0 then
      for i = 1, #old do forget(old[i]) end
      redis.call('ZREMRANGEBYSCORE', K_RETAINED, '-inf', cut)
    end
  end
end

local function retire(id)
  redis.call('ZADD', K_RETAINED, NOW, id)
  evict()
end

-- The record is read before retire, which may evict it at once (maxRetained 0).
local function kill(id)
  local k = tkey(id)
  redis.call('HSET', k, 'status', 'dead')
  redis.call('ZADD', K_DEAD, nextSeq(), id)
  local rec = record(k)
  retire(id)
  return rec
end

-- Ends a live lease without a result: queued again at once, or dead when out of attempts.
local function endLease(id, err)
  local k = tkey(id)
  local f = redis.call('HMGET', k, 'attempts', 'maxAttempts', 'capability', 'priority')
  redis.call('HSET', k, 'error', err, 'updatedAt', NOW)
  redis.call('ZREM', K_LEASES, id)
  if tonumber(f[1]) < tonumber(f[2]) then
    queue(id, f[3], f[4], now, now)
    return record(k)
  end
  return kill(id)
end

-- The status check of a transition that needs a live lease; nil when it holds.
local function checkLease(id, token)
  local f = redis.call('HMGET', tkey(id), 'status', 'leaseToken')
  if not f[1] then return redis.error_reply('NOTFOUND no task ' .. id) end
  if f[1] ~= 'leased' then return redis.error_reply('CONFLICT ' .. f[1]) end
  if f[2] ~= token then return redis.error_reply('CONFLICT stale') end
  return nil
end

-- Saves the sequence and the counts, and tells every process which capabilities got
-- available tasks. Every script that changes queued tasks ends with it.
local function finish(reply)
  flush()
  if seq ~= nil then redis.call('SET', K_SEQ, seq) end
  for prio, d in pairs(dcount) do
    if d ~= 0 then redis.call('HINCRBY', K_COUNTS, prio, d) end
  end
  for cap in pairs(avail) do redis.call('PUBLISH', P .. 'available', cap) end
  return reply
end
`;
