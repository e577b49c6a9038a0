-- wrk script: one request from the environment: IK_METHOD (default GET),
-- IK_BODY (a JSON body, sent as application/json), IK_KEY (bearer key).
local key = os.getenv("IK_KEY")
if key and key ~= "" then wrk.headers["Authorization"] = "Bearer " .. key end
local body = os.getenv("IK_BODY")
if body and body ~= "" then
  wrk.method = os.getenv("IK_METHOD") or "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.body = body
end
