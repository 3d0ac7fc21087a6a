// Scripts of the leases held by remote agents; each follows LUA_PRELUDE (see there for the
// arguments and the key layout). A lease is taken in the name of the process that leased it
// (the agent field of its state line), and handed off to the remote agent that gets it: the
// state line then names that agent, so that any process can find and fail over its leases.

/** ARGV[5] the agent id, then pairs of task id and lease token; stale tokens are skipped. */
export const HANDOFF = `
local agent = ' ' .. ARGV[5]
for j = 6, #ARGV, 2 do
  local k = tkey(ARGV[j])
  local s = redis.call('HGET', k, 's')
  if s then
    local st = parse(s)
    if st[STATUS] == 'leased' and st[TOKEN] == ARGV[j + 1] then
      st[AGENT] = agent
      redis.call('HSET', k, 's', line(st))
    end
  end
end
return 1
`;

/**
 * ARGV[5] the agent id: the records of the live leases in its name, handed off to it or
 * taken under it (a process's holder id names the leases of its in-process handlers and the
 * ones no remote agent had got yet). It scans the live leases (failing an agent or a process
 * over is rare; a lease and a complete pay nothing for it).
 */
export const AGENT_LEASES = `
local agent = ' ' .. ARGV[5]
local out = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', K_LEASES, '-inf', '(inf')) do
  local k = tkey(id)
  local s = redis.call('HGET', k, 's')
  if s and string.sub(s, 1, 7) == 'leased ' then
    local st = parse(s)
    if st[AGENT] == agent then out[#out + 1] = record(k) end
  end
end
return out
`;
