-- KEYS: stream, depth. ARGV: group, entry ids. An entry no longer pending (acknowledged before) is
-- not counted twice. Returns the depth.
local done = 0
for i = 2, #ARGV do
  if redis.call('XACK', KEYS[1], ARGV[1], ARGV[i]) == 1 then
    redis.call('XDEL', KEYS[1], ARGV[i])
    done = done + 1
  end
end
if done > 0 then return redis.call('DECRBY', KEYS[2], done) end
return tonumber(redis.call('GET', KEYS[2]) or '0')
