-- KEYS: stream, depth, inflight, crashes. ARGV: group, partition, entry ids. An entry no longer
-- pending (acknowledged before) is not counted twice. Its in-flight mark and crash count go with
-- it. Returns the depth.
local done = 0
for i = 3, #ARGV do
  if redis.call('XACK', KEYS[1], ARGV[1], ARGV[i]) == 1 then
    redis.call('XDEL', KEYS[1], ARGV[i])
    done = done + 1
  end
  local receipt = ARGV[2] .. '/' .. ARGV[i]
  redis.call('HDEL', KEYS[3], receipt)
  redis.call('HDEL', KEYS[4], receipt)
end
if done > 0 then return redis.call('DECRBY', KEYS[2], done) end
return tonumber(redis.call('GET', KEYS[2]) or '0')
