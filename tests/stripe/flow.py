"""SPEC §14: the official `stripe` Python SDK, pointed at the server's root,
drives sessions, payment intents, refunds, events and webhook endpoints, and
both `stripe.Webhook.construct_event` and `standardwebhooks` verify one of our
deliveries. Run by .ci/stripe-sdks:

    python3 tests/stripe/flow.py http://127.0.0.1:PORT ik_test_…

Exits non-zero with the failing check and the last SDK requests (method, URL,
body, our answer) on any mismatch.
"""
import json
import os
import queue
import sys
import threading
import time
import traceback
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import stripe
from standardwebhooks import Webhook as StandardWebhook

if len(sys.argv) != 3:
    sys.exit("usage: flow.py BASE_URL SECRET_KEY")
BASE, KEY = sys.argv[1].rstrip("/"), sys.argv[2]
TAG = "py-" + uuid.uuid4().hex[:10]
# The retry check needs a server whose first webhook retry comes quickly
# (.ci/stripe-sdks starts it with IKAWAARI_WEBHOOK_RETRY_BASE_MS=300).
RETRY_BASE_MS = int(os.environ.get("IKAWAARI_WEBHOOK_RETRY_BASE_MS") or 0)
OUR_CODES = {
    "parameter_invalid", "parameter_missing", "parameter_unknown", "json_invalid",
    "idempotency_key_mismatch", "api_key_missing", "api_key_invalid", "card_declined",
    "expired_card", "incorrect_cvc", "scope_missing", "resource_missing", "route_not_found",
    "method_not_allowed", "amount_too_large", "charge_already_refunded",
    "checkout_session_expired", "checkout_session_completed", "checkout_session_not_open",
    "payment_in_progress", "payment_intent_unexpected_state", "idempotency_key_in_use",
    "body_too_large", "unsupported_media_type", "rate_limited", "internal",
    "processor_unavailable",
}


class Trail(stripe.RequestsClient):
    """The SDK's own HTTP client, keeping every request and our answer."""

    def __init__(self):
        super().__init__(timeout=30)
        self.log = []

    def request(self, method, url, headers, post_data=None):
        body, status, rheaders = super().request(method, url, headers, post_data)
        self.log.append({
            "request": f"{method.upper()} {url}",
            "content_type": (headers or {}).get("Content-Type"),
            "idempotency_key": (headers or {}).get("Idempotency-Key"),
            "body": post_data,
            "status": status,
            "answer": body.decode("utf-8", "replace") if isinstance(body, bytes) else body,
        })
        return body, status, rheaders


TRAIL = Trail()
stripe.api_key = KEY
stripe.api_base = BASE
stripe.default_http_client = TRAIL


class Mismatch(Exception):
    pass


def check(cond, what, *shown):
    if not cond:
        raise Mismatch(what + "".join(f"\n    {s!r}" for s in shown))


def step(name):
    print(f"[python] {name}", flush=True)


def plain(method, path, body=None, auth=True):
    """A plain HTTP call (test helpers, the public pay route)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(BASE + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if auth:
        req.add_header("Authorization", "Bearer " + KEY)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def expect_error(kind, fn, status):
    """Runs fn, which must raise the SDK's `kind` error with HTTP `status`."""
    before = len(TRAIL.log)
    try:
        fn()
    except stripe.StripeError as e:
        check(isinstance(e, kind), f"expected {kind.__name__}, got {type(e).__name__}", e.http_status, e.json_body)
        check(e.http_status == status, f"expected HTTP {status}, got {e.http_status}", e.json_body)
        err = (e.json_body or {}).get("error", {})
        print(f"    -> {type(e).__name__} http={e.http_status} code={e.code!r} param={getattr(e, 'param', None)!r} "
              f"user_message={e.user_message!r} request_id={e.request_id!r} "
              f"requests_sent={len(TRAIL.log) - before}")
        replayed = (e.headers or {}).get("idempotent-replayed") == "true"
        if replayed:
            # The SDK retried with its Idempotency-Key: the body is the first
            # answer's, byte for byte (its request_id too).
            print(f"    (a replay: header request-id {e.request_id}, body request_id {err.get('request_id')})")
        else:
            check(e.request_id and e.request_id == err.get("request_id"),
                  "the SDK's request_id (request-id header) is not the body's request_id", e.request_id, err)
        return e
    raise Mismatch(f"expected {kind.__name__} (HTTP {status}), the call succeeded")


def session_params(n=1, **extra):
    params = {
        "mode": "payment",
        "line_items": [{"name": f"Item {i}", "amount": 1000 * (i + 1), "currency": "xof", "quantity": i + 1}
                       for i in range(n)],
        "success_url": "https://merchant.example/success?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://merchant.example/cancel",
        "client_reference_id": TAG,
    }
    params.update(extra)
    return params


def pay_with_card(session_id):
    status, body = plain("POST", f"/api/checkout/{session_id}/pay", {"payment_method": {
        "type": "card", "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}}},
        auth=False)
    check(status == 200 and body["status"] == "succeeded", "card pay did not succeed", status, body)


def succeed_by_helper(session_id):
    status, body = plain("POST", f"/api/v1/test_helpers/checkout/sessions/{session_id}/succeed", {})
    check(status == 200, "test helper succeed failed", status, body)


def sessions():
    step("checkout.Session.create: inline line items, metadata, the optional fields (form-encoded)")
    s = stripe.checkout.Session.create(**session_params(
        3, metadata={"order": "42", "source": "stripe-python"}, customer_email="buyer@example.com",
        locale="fr-CI", payment_method_types=["card", "mobile_money"],
        expires_at=int(time.time()) + 3600))
    check(isinstance(s, stripe.checkout.Session), "create did not give a checkout.Session", type(s))
    check(s.id.startswith("cs_test_") and s.object == "checkout.session", "session id/object", s.id, s.object)
    check(s.status == "open" and s.payment_status == "unpaid" and s.mode == "payment", "new session state", s.status, s.payment_status)
    check(s.currency == "XOF" and s.amount_total == 1000 * 1 + 2000 * 2 + 3000 * 3, "currency/total", s.currency, s.amount_total)
    check(s.metadata.to_dict() == {"order": "42", "source": "stripe-python"}, "metadata", s.metadata)
    check(s.customer_email == "buyer@example.com" and s.client_reference_id == TAG, "email/reference", s.customer_email, s.client_reference_id)
    check(s.locale == "fr", "locale fr-CI resolves to fr", s.locale)
    check(list(s.payment_method_types) == ["card", "mobile_money"], "payment_method_types", s.payment_method_types)
    check(s.url.endswith("/" + s.id), "url", s.url)
    check(isinstance(s.line_items, stripe.ListObject) and len(s.line_items.data) == 3, "embedded line_items", s.line_items)
    li = s.line_items.data[1]
    check(isinstance(li, stripe.LineItem) and li.id.startswith("li_") and li.name == "Item 1"
          and li.amount == 2000 and li.quantity == 2 and li.amount_total == 4000 and li.currency == "XOF",
          "line item 1", li)
    check(isinstance(s.payment_intent, str) and s.payment_intent.startswith("pi_"), "payment_intent id", s.payment_intent)

    step("checkout.Session.retrieve, and expand=['payment_intent'] / ['line_items']")
    got = stripe.checkout.Session.retrieve(s.id)
    check(got.id == s.id and got.amount_total == s.amount_total and got.payment_intent == s.payment_intent, "retrieve", got)
    exp = stripe.checkout.Session.retrieve(s.id, expand=["payment_intent"])
    check(isinstance(exp.payment_intent, stripe.PaymentIntent), "expand payment_intent: not an object", exp.payment_intent)
    check(exp.payment_intent.id == s.payment_intent and exp.payment_intent.status == "requires_payment_method"
          and exp.payment_intent.amount == s.amount_total, "expanded payment_intent", exp.payment_intent)
    exp = stripe.checkout.Session.retrieve(s.id, expand=["line_items", "payment_intent"])
    check(isinstance(exp.payment_intent, stripe.PaymentIntent) and len(exp.line_items.data) == 3,
          "expand line_items + payment_intent", exp)

    step("Idempotency-Key given to the SDK: same form body replays, another body is refused")
    key = "idem-" + TAG
    a = stripe.checkout.Session.create(**session_params(1, client_reference_id=key), idempotency_key=key)
    b = stripe.checkout.Session.create(**session_params(1, client_reference_id=key), idempotency_key=key)
    check(a.id == b.id, "same key, same body: not the same session", a.id, b.id)
    check(b.last_response.headers.get("Idempotent-Replayed") == "true", "no Idempotent-Replayed: true on the replay",
          dict(b.last_response.headers))
    expect_error(stripe.IdempotencyError, lambda: stripe.checkout.Session.create(
        **session_params(2, client_reference_id=key), idempotency_key=key), 400)
    stripe.checkout.Session.expire(a.id)

    step("checkout.Session.list_line_items with auto-paging (limit=1 on 3 items)")
    page = stripe.checkout.Session.list_line_items(s.id, limit=1)
    check(len(page.data) == 1 and page.has_more, "first line-item page", page)
    names = [item.name for item in page.auto_paging_iter()]
    check(names == ["Item 0", "Item 1", "Item 2"], "line items auto-paged", names)

    step("checkout.Session.list with auto-paging: 12 more sessions, limit=5")
    ids = [s.id] + [stripe.checkout.Session.create(**session_params(1)).id for _ in range(12)]
    first = stripe.checkout.Session.list(limit=5, client_reference_id=TAG)
    check(len(first.data) == 5 and first.has_more, "first page of 5", len(first.data), first.has_more)
    check(first.url == "/api/v1/checkout/sessions", "list url", first.url)
    before = len(TRAIL.log)
    items = list(first.auto_paging_iter())
    pages = len(TRAIL.log) - before
    seen = [x.id for x in items]
    check(sorted(seen) == sorted(ids) and len(seen) == len(set(seen)), "filtered auto-paging: each of our 13 sessions once",
          len(seen), set(ids) ^ set(seen))
    order = [(x.created, x.id) for x in items]
    check(order == sorted(order, reverse=True), "auto-paging order is newest first (created, then id)", order)
    check(pages == 2, f"13 sessions at limit 5 should take 2 more pages, took {pages}", TRAIL.log[before:])
    everything = [x.id for x in stripe.checkout.Session.list(limit=5).auto_paging_iter()]
    check(len(everything) == len(set(everything)) and set(ids) <= set(everything), "unfiltered auto-paging", len(everything))
    created = [x.created for x in stripe.checkout.Session.list(limit=100).data]
    check(created == sorted(created, reverse=True), "list order by created", created)

    step("checkout.Session.list with expand=['data.payment_intent']")
    lst = stripe.checkout.Session.list(limit=3, client_reference_id=TAG, expand=["data.payment_intent"])
    check(all(isinstance(x.payment_intent, stripe.PaymentIntent) for x in lst.data),
          "list expand data.payment_intent: not objects", [type(x.payment_intent).__name__ for x in lst.data])

    step("checkout.Session.expire")
    gone = stripe.checkout.Session.expire(ids[-1])
    check(gone.id == ids[-1] and gone.status == "expired", "expire", gone.status)
    check(stripe.checkout.Session.retrieve(ids[-1]).status == "expired", "expired on retrieve")
    e = expect_error(stripe.APIError, lambda: stripe.checkout.Session.expire(ids[-1]), 409)
    check(e.error.code in ("checkout_session_not_open", "checkout_session_expired"), "expire twice: code", e.error.code)

    step("subscription mode: recurring nested inside line_items[0] (form-encoded)")
    sub = stripe.checkout.Session.create(**session_params(
        0, mode="subscription",
        line_items=[{"name": "Monthly", "amount": 5000, "currency": "XOF", "quantity": 1,
                     "description": "Plan", "recurring": {"interval": "month", "interval_count": 1}}]))
    rec = sub.line_items.data[0].recurring
    check(sub.mode == "subscription" and rec.interval == "month" and rec.interval_count == 1, "recurring", rec)
    return s


def payment_and_refunds(s):
    step("pay by card on the public route, then PaymentIntent.retrieve")
    pay_with_card(s.id)
    done = stripe.checkout.Session.retrieve(s.id)
    check(done.status == "complete" and done.payment_status == "paid", "paid session", done.status, done.payment_status)
    pi = stripe.PaymentIntent.retrieve(s.payment_intent)
    check(isinstance(pi, stripe.PaymentIntent) and pi.id == s.payment_intent, "payment intent", pi)
    check(pi.status == "succeeded" and pi.amount == s.amount_total and pi.currency == "XOF" and pi.amount_refunded == 0,
          "succeeded intent", pi.status, pi.amount, pi.currency, pi.amount_refunded)
    check(pi.payment_method.to_dict().get("last4") == "4242", "payment_method summary", pi.payment_method)
    listed = stripe.checkout.Session.list(payment_intent=pi.id)
    check([x.id for x in listed.data] == [s.id], "list filtered by payment_intent", [x.id for x in listed.data])

    step("Refund.create (partial, amount, reason, metadata), Refund.list(payment_intent=…)")
    r1 = stripe.Refund.create(payment_intent=pi.id, amount=1000, reason="requested_by_customer", metadata={"ticket": "7"})
    check(isinstance(r1, stripe.Refund) and r1.id.startswith("re_"), "refund object", r1)
    check(r1.amount == 1000 and r1.currency == "XOF" and r1.payment_intent == pi.id and r1.status == "succeeded"
          and r1.reason == "requested_by_customer" and r1.metadata.to_dict() == {"ticket": "7"}, "partial refund", r1)
    r2 = stripe.Refund.create(payment_intent=pi.id)
    check(r2.amount == s.amount_total - 1000 and r2.status == "succeeded", "refund of the rest", r2.amount)
    refunds = stripe.Refund.list(payment_intent=pi.id, limit=1)
    got = [r.id for r in refunds.auto_paging_iter()]
    check(sorted(got) == sorted([r1.id, r2.id]), "Refund.list auto-paged", got)
    check(stripe.Refund.retrieve(r1.id).amount == 1000, "Refund.retrieve")
    check(stripe.PaymentIntent.retrieve(pi.id).amount_refunded == s.amount_total, "amount_refunded")
    e = expect_error(stripe.InvalidRequestError, lambda: stripe.Refund.create(payment_intent=pi.id, amount=1), 400)
    check(e.code in ("charge_already_refunded", "amount_too_large"), "over-refund code", e.code)
    return pi


def events(s):
    step("Event.list: the session's checkout.session.completed")
    found = None
    for ev in stripe.Event.list(type="checkout.session.completed", limit=5).auto_paging_iter():
        if ev.data["object"]["id"] == s.id:
            found = ev
            break
    check(found is not None, "no checkout.session.completed event for the paid session", s.id)
    check(isinstance(found, stripe.Event) and found.id.startswith("evt_") and found.livemode is False, "event", found)
    obj = found.data["object"]
    check(isinstance(obj, stripe.checkout.Session) and obj.payment_status == "paid", "event data.object", obj)
    check(stripe.Event.retrieve(found.id).type == "checkout.session.completed", "Event.retrieve")
    timeline = [ev.type for ev in stripe.Event.list(object_id=s.id).auto_paging_iter()]
    check("checkout.session.completed" in timeline, "Event.list(object_id=…)", timeline)
    prefixed = stripe.Event.list(type="checkout.session.*", limit=100)
    check(prefixed.data and all(ev.type.startswith("checkout.session.") for ev in prefixed.data), "type prefix filter")


class Receiver:
    """A webhook receiver on 127.0.0.1 (random port). With `fail_first`, it
    answers 500 to the first delivery so that the server retries it."""

    def __init__(self, fail_first):
        self.got = queue.Queue()
        self.fail_first = fail_first
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.got.put((self.path, {k: v for k, v in self.headers.items()}, body))
                fail = outer.fail_first
                outer.fail_first = False
                self.send_response(500 if fail else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/stripe-python"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def next(self, timeout):
        try:
            return self.got.get(timeout=timeout)
        except queue.Empty:
            raise Mismatch(f"no webhook delivery within {timeout} s")


def webhooks():
    retry = 0 < RETRY_BASE_MS <= 5000
    rx = Receiver(fail_first=retry)
    step("WebhookEndpoint.create (enabled_events list, form-encoded)")
    we = stripe.WebhookEndpoint.create(url=rx.url, enabled_events=["checkout.session.completed"],
                                       description="stripe-python " + TAG)
    check(isinstance(we, stripe.WebhookEndpoint) and we.id.startswith("we_"), "endpoint object", we)
    check(we.url == rx.url and list(we.enabled_events) == ["checkout.session.completed"] and we.status == "enabled",
          "endpoint fields", we)
    secret = we.secret
    check(isinstance(secret, str) and secret.startswith("whsec_"), "secret in the create answer", secret)
    check("secret" not in stripe.WebhookEndpoint.retrieve(we.id), "secret shown on retrieve")
    upd = stripe.WebhookEndpoint.modify(we.id, description="updated " + TAG, disabled=False)
    check(upd.description == "updated " + TAG and upd.status == "enabled", "modify (disabled=false as a string)", upd)
    check(we.id in [x.id for x in stripe.WebhookEndpoint.list().auto_paging_iter()], "WebhookEndpoint.list")

    step("pay another session (test helper); receive the delivery")
    s = stripe.checkout.Session.create(**session_params(1))
    succeed_by_helper(s.id)
    deliveries = [rx.next(20)]
    if retry:
        deliveries.append(rx.next(20 + 10 * RETRY_BASE_MS / 1000))
    for n, (path, headers, body) in enumerate(deliveries):
        lower = {k.lower(): v for k, v in headers.items()}
        check(path == "/hooks/stripe-python", "delivery path", path)
        check(lower.get("content-type", "").startswith("application/json"), "delivery Content-Type", lower.get("content-type"))
        check(lower.get("user-agent") == "Ikawaari-Webhooks/1", "delivery User-Agent", lower.get("user-agent"))
        sig = lower.get("ikawaari-signature")
        check(sig and sig.startswith("t=") and ",v1=" in sig, "Ikawaari-Signature header", sig)

        step(f"delivery {n + 1}: stripe.Webhook.construct_event(payload, Ikawaari-Signature value, whsec_…)")
        event = stripe.Webhook.construct_event(body, sig, secret)
        check(isinstance(event, stripe.Event) and event.type == "checkout.session.completed", "constructed event", event)
        check(event.data["object"]["id"] == s.id and event.data["object"]["payment_status"] == "paid", "event object", event.data)
        try:
            stripe.Webhook.construct_event(body, sig, "whsec_" + "A" * 32)
            raise Mismatch("construct_event accepted a wrong secret")
        except stripe.SignatureVerificationError:
            pass

        step(f"delivery {n + 1}: standardwebhooks Webhook(secret).verify(payload, headers)")
        for h in ("webhook-id", "webhook-timestamp", "webhook-signature"):
            check(lower.get(h), f"Standard Webhooks header {h} missing", sorted(lower))
        check(lower["webhook-signature"].startswith("v1,"), "webhook-signature format", lower["webhook-signature"])
        check(lower["webhook-timestamp"] == sig.split(",")[0][2:], "webhook-timestamp differs from t=",
              lower["webhook-timestamp"], sig)
        payload = StandardWebhook(secret).verify(body, headers)
        check(payload["id"] == event.id and payload["data"]["object"]["id"] == s.id, "standardwebhooks payload", payload)
        print(f"    -> event {event.id}, webhook-id {lower['webhook-id']}, both verifiers accept it")
    if retry:
        (_, h1, b1), (_, h2, b2) = deliveries
        step("the retry after a 500: byte-identical body, same webhook-id")
        check(b1 == b2, "the retried body is not byte-identical")
        check(h1.get("webhook-id") == h2.get("webhook-id"), "webhook-id changed between attempts of one delivery",
              h1.get("webhook-id"), h2.get("webhook-id"))
    else:
        print("    (retry check skipped: set IKAWAARI_WEBHOOK_RETRY_BASE_MS ≤ 5000 on the server and here)")

    step("rotate_secret through StripeClient.raw_request: the next delivery verifies with the old and the new secret")
    client = stripe.StripeClient(KEY, base_addresses={"api": BASE}, http_client=TRAIL)
    check(client.v1.checkout.sessions.retrieve(s.id).payment_status == "paid", "StripeClient v1 sessions.retrieve")
    rotated = client.deserialize(client.raw_request("post", f"/v1/webhook_endpoints/{we.id}/rotate_secret"), api_mode="V1")
    new_secret = rotated.secret
    check(isinstance(new_secret, str) and new_secret.startswith("whsec_") and new_secret != secret, "rotated secret", rotated)
    s2 = stripe.checkout.Session.create(**session_params(1))
    succeed_by_helper(s2.id)
    _, headers, body = rx.next(20)
    lower = {k.lower(): v for k, v in headers.items()}
    for which, sec in (("old", secret), ("new", new_secret)):
        ev = stripe.Webhook.construct_event(body, lower["ikawaari-signature"], sec)
        payload = StandardWebhook(sec).verify(body, headers)
        check(ev.data["object"]["id"] == s2.id and payload["id"] == ev.id, f"the {which} secret after rotation", ev.id, payload["id"])

    step("WebhookEndpoint.delete")
    deleted = stripe.WebhookEndpoint.delete(we.id)
    check(deleted.id == we.id and deleted.deleted is True, "delete", deleted)
    rx.server.shutdown()


def errors():
    step("errors: a bad value (line_items[0][amount]=-5)")
    e = expect_error(stripe.InvalidRequestError, lambda: stripe.checkout.Session.create(**session_params(
        0, line_items=[{"name": "Bad", "amount": -5, "currency": "XOF", "quantity": 1}])), 400)
    check(e.code in OUR_CODES and e.code == "parameter_invalid", "code", e.code)
    check(e.param == "line_items[0].amount", "param names the field (as in JSON)", e.param)
    check(e.user_message and "amount" in e.user_message.lower(), "user message", e.user_message)
    check(e.error.doc_url and e.error.doc_url.endswith("#parameter_invalid"), "doc_url", e.error.doc_url)

    step("errors: a non-integer amount, a missing success_url, an unknown parameter")
    e = expect_error(stripe.InvalidRequestError, lambda: stripe.checkout.Session.create(**session_params(
        0, line_items=[{"name": "Bad", "amount": "abc", "currency": "XOF", "quantity": 1}])), 400)
    check(e.code in OUR_CODES and e.param == "line_items[0].amount", "non-integer amount", e.code, e.param)
    params = session_params(1)
    del params["success_url"]
    e = expect_error(stripe.InvalidRequestError, lambda: stripe.checkout.Session.create(**params), 400)
    check(e.code == "parameter_missing" and e.param == "success_url", "missing success_url", e.code, e.param)
    e = expect_error(stripe.InvalidRequestError, lambda: stripe.checkout.Session.create(**session_params(1, colour="red")), 400)
    check(e.code == "parameter_unknown" and e.param == "colour", "unknown parameter", e.code, e.param)
    e = expect_error(stripe.InvalidRequestError, lambda: stripe.WebhookEndpoint.create(
        url="http://127.0.0.1:9/x", enabled_events=["checkout.session.completed", "no.such.event"]), 400)
    check(e.code in OUR_CODES and e.param == "enabled_events[1]", "enabled_events[1]", e.code, e.param)

    step("errors: 404, bad key")
    e = expect_error(stripe.InvalidRequestError, lambda: stripe.checkout.Session.retrieve("cs_test_nope"), 404)
    check(e.code == "resource_missing", "404 code", e.code)
    e = expect_error(stripe.AuthenticationError,
                     lambda: stripe.checkout.Session.list(api_key="ik_test_" + "x" * 32), 401)
    check(e.code == "api_key_invalid" or e.error.code == "api_key_invalid", "401 code", e.code, e.error)


def main():
    print(f"[python] stripe {stripe.VERSION} against {BASE} (api_base), run {TAG}")
    try:
        s = sessions()
        payment_and_refunds(s)
        events(s)
        webhooks()
        errors()
    except (Mismatch, stripe.StripeError, AssertionError, KeyError, AttributeError, TypeError, ValueError) as e:
        print(f"\n[python] FAIL: {type(e).__name__}: {e}", file=sys.stderr)
        if isinstance(e, stripe.StripeError):
            print(f"  HTTP {e.http_status}: {e.http_body}", file=sys.stderr)
        traceback.print_exc(limit=4)
        print("  last SDK requests:", file=sys.stderr)
        for r in TRAIL.log[-4:]:
            print("   ", json.dumps(r)[:1500], file=sys.stderr)
        sys.exit(1)
    print(f"[python] stripe-python flow: {len(TRAIL.log)} SDK requests — ok")


if __name__ == "__main__":
    main()
