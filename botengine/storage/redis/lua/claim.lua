-- KEYS: owner, stream, owner, stream… ARGV: consumer, lease ms, group, how many to take.
-- Returns the (1-based) positions of the pairs whose partition this call took.
local got = {}
for i = 1, #KEYS, 2 do
  if #got >= tonumber(ARGV[4]) then break end
  if redis.call('SET', KEYS[i], ARGV[1], 'NX', 'PX', ARGV[2]) then
    redis.pcall('XGROUP', 'CREATE', KEYS[i + 1], ARGV[3], '0', 'MKSTREAM')  -- BUSYGROUP is fine
    got[#got + 1] = (i + 1) / 2
  end
end
return got
