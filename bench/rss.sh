#!/usr/bin/env bash
# RSS of one product server through a 256-connection load (create, public read,
# list, pay on SQLite), printed after each step; MIMALLOC_* and BIN from the environment.
#   BIN=target/release/ikawaari bench/rss.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release/ikawaari}
tmp=$(mktemp -d); trap 'kill $pid 2>/dev/null; rm -rf $tmp' EXIT
IKAWAARI_BIND=127.0.0.1:7300 DATABASE_URL="sqlite://$tmp/r.db?mode=rwc" IKAWAARI_SECRETS_KEY_FILE=$tmp/k IKAWAARI_PAY_RATE_LIMIT=0 RUST_LOG=warn "$BIN" serve > $tmp/out 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q "listening on" $tmp/out 2>/dev/null && break; sleep 0.2; done
key=$(sed -n 's/^test key: //p' $tmp/out)
DATABASE_URL="sqlite://$tmp/r.db?mode=rwc" RUST_LOG=warn "$BIN" seed --open --sessions 20000 >/dev/null
s=$(curl -s -X POST http://127.0.0.1:7300/api/v1/checkout/sessions -H "Authorization: Bearer $key" -H 'Content-Type: application/json' -d "$(sed -n "s/^wrk.body = '\(.*\)'$/\1/p" bench/post.lua)" | sed -n 's/.*"id":"\(cs_[^"]*\)".*/\1/p')
echo "start RSS $(($(ps -o rss= -p $pid)/1024)) MiB"
IK_KEY=$key wrk -t2 -c256 -d4s -s bench/post.lua http://127.0.0.1:7300/api/v1/checkout/sessions | grep Requests
echo "after create RSS $(($(ps -o rss= -p $pid)/1024)) MiB"
wrk -t2 -c256 -d4s -s bench/get.lua http://127.0.0.1:7300/api/checkout/$s | grep Requests
IK_KEY=$key wrk -t2 -c256 -d4s -s bench/get.lua "http://127.0.0.1:7300/api/v1/checkout/sessions?limit=20" >/dev/null
echo "after reads RSS $(($(ps -o rss= -p $pid)/1024)) MiB"
IK_FIRST=1 wrk -t2 -c256 -d4s -s bench/pay.lua http://127.0.0.1:7300 >/dev/null
echo "after pay RSS $(($(ps -o rss= -p $pid)/1024)) MiB"
sleep 3
echo "idle 3s RSS $(($(ps -o rss= -p $pid)/1024)) MiB"
