-- KEYS: inflight, crashes. ARGV: consumer, then receipts of entries it just reclaimed.
-- An entry another consumer had begun processing and never acknowledged was in flight when that
-- consumer died: one crash more. Returns each entry's crash count, in ARGV's order.
local counts = {}
for i = 2, #ARGV do
  local owner = redis.call('HGET', KEYS[1], ARGV[i])
  if owner and owner ~= ARGV[1] then
    redis.call('HDEL', KEYS[1], ARGV[i])
    redis.call('HINCRBY', KEYS[2], ARGV[i], 1)
  end
  counts[#counts + 1] = tonumber(redis.call('HGET', KEYS[2], ARGV[i]) or '0')
end
return counts
