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
 * Keys (after the prefix): `t:<id>` a task hash (fields below); `q<level>:<capability>` the
 * available tasks of one priority (0 critical .. 3 low), a list in FIFO order (a lease pops
 * the lists in priority order: strict priority, FIFO within one, across every process); `seq`
 * the sequence (orders the dead letters); `delayed` ids by `availableAt`; `leases` ids by
 * `leaseExpiresAt` (plus one member of 80 `~` scored +inf, see KEEP); `dead` ids by the
 * sequence at death; `retained` terminal ids in the order they ended (a list); `caps`
 * capabilities with available tasks; `counts` queued tasks by priority; `idem` idempotency
 * key → id; `made` every stored task's id by `createdAt` (the order of a listing). Channel `available` carries a capability that got tasks.
 *
 * A task hash: `d` what never changes and only the client reads (JSON); `s` the state line
 * `status updatedAt leaseToken attempts leaseExpiresAt availableAt maxAttempts timeoutMs
 * priority[ agentId]` (see record-codec.ts); `e` the last error and `r` the result (JSON,
 * `''` for none); `c` the capability; `k` the idempotency key, when there is one.
 */
export const LUA_PRELUDE = `
local P = ARGV[1]
local NOW = ARGV[2]
local now = tonumber(NOW)
local MAXR = tonumber(ARGV[3])
local RETAIN = tonumber(ARGV[4])
local LEVEL = { critical = 1, high = 2, normal = 3, low = 4 }
local K_SEQ, K_DELAYED, K_LEASES = P .. 'seq', P .. 'delayed', P .. 'leases'
local K_DEAD, K_RETAINED, K_CAPS = P .. 'dead', P .. 'retained', P .. 'caps'
local K_COUNTS, K_IDEM, K_MADE = P .. 'counts', P .. 'idem', P .. 'made'
-- A member of 'leases' scored +inf, longer than a listpack member may be: it keeps the set a
-- skiplist, and alive when no lease is. A small set would otherwise be a listpack, whose every
-- insert scans it, and a lease adds a batch of members at a time.
local KEEP = '${'~'.repeat(80)}'
local seq = nil
local avail = {}
-- Changes to the queued counts, applied once by finish().
local dcount = {}
local function count(prio, d) dcount[prio] = (dcount[prio] or 0) + d end

local FIELDS = { ${RECORD_FIELDS.map((f) => `'${f}'`).join(', ')} }

local function tkey(id) return P .. 't:' .. id end
-- A record as the client decodes it: the values of FIELDS, in order (false when absent).
local function record(k) return redis.call('HMGET', k, unpack(FIELDS)) end
-- Lua's own number-to-string keeps 14 digits; scores and instants need all of theirs.
local function str(x) return string.format('%.17g', x) end

-- The state line, split: STATUS .. PRIO, then AGENT, '' or ' ' followed by the agent id. The
-- fields a lease or a complete rewrites come first, so the hot paths match a prefix alone;
-- the ones that never change (maxAttempts timeoutMs priority) are one piece, the same for
-- most tasks, so a lease works out their expiry once per batch.
local STATUS, UPD, TOKEN, ATT, EXP, AT, MAXATT, TMO, PRIO, AGENT = 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
local SPLIT = '^(%S+) (%S+) (%S*) (%S+) (%S*) (%S+) (%S+) (%S+) (%S+)(.*)$'
local function parse(s)
  local a, b, c, d, e, f, g, h, i, j = string.match(s, SPLIT)
  return { a, b, c, d, e, f, g, h, i, j }
end
local function line(st)
  return st[1] .. ' ' .. st[2] .. ' ' .. st[3] .. ' ' .. st[4] .. ' ' .. st[5] .. ' ' .. st[6]
    .. ' ' .. st[7] .. ' ' .. st[8] .. ' ' .. st[9] .. st[10]
end

local function nextSeq()
  if seq == nil then seq = tonumber(redis.call('GET', K_SEQ) or '0') end
  seq = seq + 1
  return seq
end

-- Sorted-set writes gathered per command and key, sent by flush() as one variadic call each
-- (in chunks, under Lua's unpack limit): a call from Lua costs more than the work it does,
-- and a batch of tasks would otherwise pay it once per task and key.
local zbuf, zorder = {}, {}
-- Indexed by command, then key: a name made by concatenation would cost a string per call.
local function defer(cmd, key, a, b)
  local byKey = zbuf[cmd]
  if not byKey then
    byKey = {}
    zbuf[cmd] = byKey
  end
  local list = byKey[key]
  if not list then
    list = {}
    byKey[key] = list
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

-- The queues of a capability, by LEVEL (lists: a push and a pop cost no ordering work).
local queuesOf = {}
local function queues(cap)
  local qs = queuesOf[cap]
  if not qs then
    local tail = ':' .. cap
    qs = { P .. 'q0' .. tail, P .. 'q1' .. tail, P .. 'q2' .. tail, P .. 'q3' .. tail }
    queuesOf[cap] = qs
  end
  return qs
end
local function drained(cap)
  local qs = queues(cap)
  if redis.call('EXISTS', qs[1], qs[2], qs[3], qs[4]) == 0 then redis.call('SREM', K_CAPS, cap) end
end

-- avail: the capabilities that got available tasks.
local function available(id, cap, prio)
  if not avail[cap] then
    avail[cap] = true
    redis.call('SADD', K_CAPS, cap)
  end
  defer('RPUSH', queues(cap)[LEVEL[prio]], id)
end

-- Queued at once when at <= ref, else delayed until at; the hash already says so.
local function place(id, cap, prio, at, ref)
  count(prio, 1)
  if at > ref then defer('ZADD', K_DELAYED, str(at), id) else available(id, cap, prio) end
end

local function promote()
  local due = redis.call('ZRANGEBYSCORE', K_DELAYED, '-inf', NOW)
  if #due == 0 then return end
  for i = 1, #due do
    local f = redis.call('HMGET', tkey(due[i]), 'c', 's')
    -- A task deleted by hand must not wedge every later lease.
    if f[1] then available(due[i], f[1], parse(f[2])[PRIO]) end
  end
  redis.call('ZREMRANGEBYSCORE', K_DELAYED, '-inf', NOW)
  -- The caller pops the queues next: they must hold the promoted tasks.
  flush()
end

local function forget(id)
  local k = tkey(id)
  local f = redis.call('HMGET', k, 's', 'k')
  redis.call('DEL', k)
  redis.call('ZREM', K_MADE, id)
  if f[1] and string.match(f[1], '^%S+') == 'dead' then redis.call('ZREM', K_DEAD, id) end
  if f[2] and redis.call('HGET', K_IDEM, f[2]) == id then redis.call('HDEL', K_IDEM, f[2]) end
end

-- Terminal tasks beyond maxRetained, or that ended (at their updatedAt) before now - retainMs,
-- are forgotten, oldest first. 'retained' is a list in the order they ended: a push per task
-- costs no ordering work, and the oldest are at its head.
local function evict()
  local over = redis.call('LLEN', K_RETAINED) - MAXR
  if over > 0 then
    local old = redis.call('LPOP', K_RETAINED, over)
    for i = 1, #old do forget(old[i]) end
  end
  if RETAIN >= 0 then
    local cut = now - RETAIN
    while true do
      local id = redis.call('LINDEX', K_RETAINED, 0)
      if not id then break end
      local s = redis.call('HGET', tkey(id), 's')
      -- (A task deleted by hand goes at once.)
      if s and tonumber(string.match(s, '^%S+ (%S+)')) >= cut then break end
      redis.call('LPOP', K_RETAINED)
      forget(id)
    end
  end
end

local function retire(id)
  redis.call('RPUSH', K_RETAINED, id)
  evict()
end

-- The record is read before retire, which may evict it at once (maxRetained 0). The state
-- says dead already.
local function kill(id, k)
  redis.call('ZADD', K_DEAD, nextSeq(), id)
  local rec = record(k)
  retire(id)
  return rec
end

-- Ends a live lease without a result: queued again at once, or dead when out of attempts.
-- f: the task's fields s and c. The last lease's agent, token and expiry stay on record.
local function endLease(id, err, f)
  local k = tkey(id)
  local st = parse(f[1])
  st[UPD] = NOW
  redis.call('ZREM', K_LEASES, id)
  if tonumber(st[ATT]) < tonumber(st[MAXATT]) then
    st[STATUS], st[AT] = 'queued', NOW
    redis.call('HSET', k, 's', line(st), 'e', err)
    place(id, f[2], st[PRIO], now, now)
    return record(k)
  end
  st[STATUS] = 'dead'
  redis.call('HSET', k, 's', line(st), 'e', err)
  return kill(id, k)
end

-- The state of a task whose lease is live under token, or nil and the error to answer.
local function checkLease(s, id, token)
  if not s then return nil, redis.error_reply('NOTFOUND no task ' .. id) end
  local st = parse(s)
  if st[STATUS] ~= 'leased' then return nil, redis.error_reply('CONFLICT ' .. st[STATUS]) end
  if st[TOKEN] ~= token then return nil, redis.error_reply('CONFLICT stale') end
  return st
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
