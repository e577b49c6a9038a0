-- wrk script: GET with the bearer key from $IK_KEY.
local key = os.getenv("IK_KEY")
if key and key ~= "" then wrk.headers["Authorization"] = "Bearer " .. key end
