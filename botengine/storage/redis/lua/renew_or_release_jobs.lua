-- KEYS: leased. ARGV: lease ms (renew) or '' (release), then id, expiry pairs as leased by us.
-- Returns id, new expiry for each job still ours (a lease that expired may be someone else's).
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}
for i = 2, #ARGV, 2 do
  local held = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if held and tonumber(held) == tonumber(ARGV[i + 1]) then
    if ARGV[1] == '' then
      redis.call('ZREM', KEYS[1], ARGV[i])
    else
      local until_ms = now_ms + tonumber(ARGV[1])
      redis.call('ZADD', KEYS[1], until_ms, ARGV[i])
      out[#out + 1] = ARGV[i]; out[#out + 1] = tostring(until_ms)
    end
  end
end
return out
