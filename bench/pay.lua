-- wrk script: pays seeded open sessions once each, with the test card.
-- Session i is cs_test_seed<i, 9 digits>; thread t of T pays IK_FIRST + t,
-- IK_FIRST + t + T, ... (seed at least rate × duration sessions from IK_FIRST).
local threads = {}
function setup(thread)
  thread:set("t", #threads)
  table.insert(threads, thread)
end
function init(args)
  step = tonumber(os.getenv("IK_THREADS") or "2")
  next_i = tonumber(os.getenv("IK_FIRST") or "1") + t
end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local body = '{"payment_method":{"type":"card","card":{"number":"4242424242424242","exp_month":12,"exp_year":2030,"cvc":"123"}}}'
function request()
  local path = string.format("/api/checkout/cs_test_seed%09d/pay", next_i)
  next_i = next_i + step
  return wrk.format(nil, path, nil, body)
end
