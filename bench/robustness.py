#!/usr/bin/env python3
"""Hostile-client figures against a running server (issue 9's closing note).

    python3 bench/robustness.py http://127.0.0.1:8080 ik_test_...

Measures, with the server's own settings: how long slowloris and idle
keep-alive connections live, a normal client's latency while thousands of
connections sit open, what a huge GraphQL body, a deeply nested document and
a NUL byte get. Standard library only.
"""
import json
import socket
import statistics
import sys
import threading
import time
import urllib.request

BASE = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8080"
KEY = sys.argv[2] if len(sys.argv) > 2 else ""
HOST, PORT = BASE.split("//")[1].split(":")[0], int(BASE.rsplit(":", 1)[1])


def conn():
    s = socket.create_connection((HOST, PORT))
    s.settimeout(None)
    return s


def closed_after(socks, limit):
    """Seconds until each socket is closed by the server (None if still open)."""
    out = [None] * len(socks)
    start = time.time()

    def watch(i, s):
        s.settimeout(limit)
        try:
            while s.recv(4096):
                pass
            out[i] = time.time() - start
        except OSError:
            out[i] = time.time() - start if time.time() - start < limit else None

    threads = [threading.Thread(target=watch, args=(i, s)) for i, s in enumerate(socks)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def normal_latency(n=50):
    lat = []
    for _ in range(n):
        t = time.time()
        try:
            urllib.request.urlopen(BASE + "/healthz", timeout=30).read()
            lat.append(time.time() - t)
        except Exception:
            lat.append(float("inf"))
    lat.sort()
    return lat[len(lat) // 2], lat[int(len(lat) * 0.99) - 1]


def request(method, path, body=None, headers=None):
    req = urllib.request.Request(BASE + path, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def main():
    print("normal client p50/p99 (s), idle server:", normal_latency())

    n = 2000
    socks = []
    for _ in range(n):
        s = conn()
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        socks.append(s)
    print(f"slowloris: {n} connections with unfinished headers open")
    print("  normal client p50/p99 meanwhile:", normal_latency())
    t = [x for x in closed_after(socks, 30) if x is not None]
    print(f"  closed by the server: {len(t)}/{n}, after {min(t):.1f}-{max(t):.1f} s" if t else "  none closed in 30 s")

    socks = []
    for _ in range(n):
        s = conn()
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        s.recv(4096)
        socks.append(s)
    print(f"idle keep-alive: {n} connections after one request")
    t = [x for x in closed_after(socks, 90) if x is not None]
    print(f"  closed by the server: {len(t)}/{n}, after {min(t):.1f}-{max(t):.1f} s" if t else "  none closed in 90 s")

    s = conn()
    t0 = time.time()
    s.sendall(b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200000000\r\n\r\n")
    head = s.recv(4096).split(b"\r\n")[0]
    print(f"200 MB declared GraphQL body: {head.decode()} after {1000 * (time.time() - t0):.1f} ms, no body byte sent")

    deep = "{checkoutSession(id:" + "[" * 2000 + "1" + "]" * 2000 + "){id}}"
    st, body = request("POST", "/graphql", json.dumps({"query": deep}).encode(), {"Content-Type": "application/json"})
    print(f"GraphQL literal nested 2000 deep: {st} {body[:90]!r}; /healthz then: {request('GET', '/healthz')[0]}")

    if KEY:
        bad = {"line_items": [{"name": "a\u0000", "amount": 1, "currency": "XOF", "quantity": 1}],
               "mode": "payment", "success_url": "https://a.example/ok"}
        st, body = request("POST", "/api/v1/checkout/sessions", json.dumps(bad).encode(),
                           {"Content-Type": "application/json", "Authorization": "Bearer " + KEY})
        print(f"NUL in a line item name: {st} {body[:110]!r}")
        st, _ = request("GET", "/api/v1/checkout/sessions/cs_test_%00", headers={"Authorization": "Bearer " + KEY})
        print(f"%00 in a path id: {st}")


if __name__ == "__main__":
    main()
