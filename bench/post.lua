-- wrk script: POST a realistic message event with a fresh event id on every request, spread
-- over 500 chats, so the dedupe window and the per-chat lanes see real traffic.
local counter = 0
local thread_id = 0
local threads = {}

function setup(thread)
  thread:set("tid", thread_id)
  thread_id = thread_id + 1
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() + tid * 7919)
  secret = os.getenv("BENCH_SECRET") or "bench-secret"
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["X-Webhook-Secret"] = secret
end

function request()
  counter = counter + 1
  local chat = string.format("44744%07d@c.us", math.random(0, 499))
  local id = string.format("evt_%d_%d_%d", tid, counter, math.random(0, 1e9))
  local body = string.format(
    '{"id":"%s","timestamp":%d000,"session":"default","engine":"WEBJS","event":"message",' ..
    '"payload":{"id":"false_%s_3EB0%08X","timestamp":%d,"from":"%s","fromMe":false,' ..
    '"to":"201001234567@c.us","body":"Hi! Is the shop open today? I would like to order two of the blue ones.",' ..
    '"hasMedia":false,"ack":1,"ackName":"SERVER","_data":{"notifyName":"Alice"}},' ..
    '"me":{"id":"201001234567@c.us","pushName":"Acme Support"},"metadata":{}}',
    id, os.time(), chat, counter, os.time(), chat)
  return wrk.format(nil, nil, nil, body)
end
