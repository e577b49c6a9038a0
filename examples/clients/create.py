import json, os, urllib.error, urllib.request, uuid

API = os.environ.get("IKAWAARI_API", "http://127.0.0.1:8080")
KEY = os.environ["IKAWAARI_KEY"]  # the ik_test_… key `serve` printed

def ikawaari(method, path, body=None):
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    if method == "POST":
        headers["Idempotency-Key"] = str(uuid.uuid4())  # keep it to retry safely
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(API + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req) as res:
            return json.load(res)
    except urllib.error.HTTPError as e:
        err = json.load(e)["error"]
        raise RuntimeError(f"{err['code']}: {err['message']} (request {err['request_id']})")

session = ikawaari("POST", "/api/v1/checkout/sessions", {
    "line_items": [{"name": "Premium Plan", "amount": 50000, "currency": "XOF", "quantity": 1}],
    "mode": "payment",
    "success_url": "https://yoursite.com/success?session_id={CHECKOUT_SESSION_ID}",
    "cancel_url": "https://yoursite.com/cancel",
})
print(session["id"], session["url"])  # send the customer to session["url"]
