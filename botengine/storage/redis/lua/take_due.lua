-- KEYS: due, leased, jobs. ARGV: now (the caller's clock, like due times), limit, lease ms.
-- Returns id, due, data, lease expiry for each job leased by this call.
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[2])
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES',
                       'LIMIT', 0, limit + redis.call('ZCARD', KEYS[2]))
local out = {}
local until_ms = now_ms + tonumber(ARGV[3])
for i = 1, #due, 2 do
  if #out >= 4 * limit then break end
  local held = redis.call('ZSCORE', KEYS[2], due[i])
  if not held or tonumber(held) <= now_ms then
    redis.call('ZADD', KEYS[2], until_ms, due[i])
    local data = redis.call('HGET', KEYS[3], due[i]) or '{}'
    out[#out + 1] = due[i]; out[#out + 1] = due[i + 1]; out[#out + 1] = data
    out[#out + 1] = tostring(until_ms)
  end
end
return out
