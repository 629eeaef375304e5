-- KEYS: workers. ARGV: consumer. 1 while its heartbeat has not expired (by Redis' clock), else 0.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local until_ms = redis.call('ZSCORE', KEYS[1], ARGV[1])
if until_ms and tonumber(until_ms) > now then return 1 end
return 0
