#!/usr/bin/env bash
# CPU seconds of the product and of the PostgreSQL backends during 10 s of wrk -c64 on one
# scenario (the split of a create between us and the database).
#   bench/cpu.sh postgres post.lua /api/v1/checkout/sessions      (BIN= another build)
set -euo pipefail
cd "$(dirname "$0")/.."
db=$1; script=$2; path=$3
tmp=$(mktemp -d)
if [ "$db" = sqlite ]; then url="sqlite://$tmp/p.db?mode=rwc"; else
  psql postgres://postgres@127.0.0.1:5432/postgres -qc "DROP DATABASE IF EXISTS ik_prof WITH (FORCE)" -c "CREATE DATABASE ik_prof" 2>/dev/null
  url=postgres://postgres@127.0.0.1:5432/ik_prof; fi
IKAWAARI_BIND=127.0.0.1:7300 DATABASE_URL="$url" IKAWAARI_PAY_RATE_LIMIT=0 RUST_LOG=warn IKAWAARI_SECRETS_KEY_FILE=$tmp/k ${BIN:-target/release/ikawaari} serve >$tmp/out 2>$tmp/err &
pid=$!
for _ in $(seq 100); do grep -q "listening on" $tmp/out 2>/dev/null && break; sleep 0.2; done
key=$(sed -n 's/^test key: //p' $tmp/out)
sess=$(curl -s -X POST "http://127.0.0.1:7300/api/v1/checkout/sessions" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' -d "$(sed -n "s/^wrk.body = '\(.*\)'$/\1/p" bench/post.lua)" | sed -n 's/.*"id":"\(cs_[^"]*\)".*/\1/p')
path=${path//SESSION/$sess}
ticks() { awk '{print $14+$15}' /proc/$1/stat 2>/dev/null || echo 0; }
pgticks() { local t=0; for p in $(pgrep -f "postgres"); do t=$((t + $(ticks $p))); done; echo $t; }
a0=$(ticks $pid); p0=$(pgticks); s0=$(awk '/^cpu /{print $2+$3+$4+$5+$6+$7+$8}' /proc/stat)
IK_KEY=$key wrk -t2 -c64 -d10s -s bench/$script "http://127.0.0.1:7300$path" > $tmp/wrk
a1=$(ticks $pid); p1=$(pgticks); s1=$(awk '/^cpu /{print $2+$3+$4+$5+$6+$7+$8}' /proc/stat)
grep "Requests/sec" $tmp/wrk
echo "ikawaari cpu-s: $(( (a1-a0) ))/100  postgres cpu-s: $(( (p1-p0) ))/100  machine total: $(( s1-s0 ))/100"
kill $pid
