-- KEYS: owner keys. ARGV: consumer, lease ms (renew) or '' (release). Returns the positions of
-- the keys this consumer held.
local held = {}
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then
    if ARGV[2] == '' then redis.call('DEL', key) else redis.call('PEXPIRE', key, ARGV[2]) end
    held[#held + 1] = i
  end
end
return held
