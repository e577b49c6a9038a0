-- wrk script: POST the seed's create body, with the bearer key from $IK_KEY (if any).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local key = os.getenv("IK_KEY")
if key and key ~= "" then wrk.headers["Authorization"] = "Bearer " .. key end
wrk.body = '{"line_items":[{"name":"Premium Plan","amount":50000,"currency":"XOF","quantity":1}],"mode":"payment","success_url":"https://yoursite.com/success?session_id={CHECKOUT_SESSION_ID}","cancel_url":"https://yoursite.com/cancel"}'
