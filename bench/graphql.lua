-- wrk script: the dashboard's 100-session page with line items and intents.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("IK_KEY")
wrk.body = '{"query":"{ checkoutSessions(first: 100) { totalCount nodes { id amountTotal lineItems { name amountTotal } paymentIntent { status } } } }"}'
