-- KEYS: seen, depth, stream. ARGV: dedupe (0/1), window ms, max depth, then the entry's fields.
-- Returns {1, depth} accepted, {0, depth} duplicate, {-1, depth} queue full (nothing written).
if ARGV[1] == '1' and redis.call('EXISTS', KEYS[1]) == 1 then
  return {0, tonumber(redis.call('GET', KEYS[2]) or '0')}
end
local depth = tonumber(redis.call('GET', KEYS[2]) or '0')
if depth >= tonumber(ARGV[3]) then return {-1, depth} end
if ARGV[1] == '1' then redis.call('SET', KEYS[1], '1', 'PX', ARGV[2]) end
redis.call('XADD', KEYS[3], '*', 's', ARGV[4], 'i', ARGV[5], 't', ARGV[6], 'c', ARGV[7],
           'b', ARGV[8], 'a', ARGV[9])
return {1, redis.call('INCR', KEYS[2])}
