#!/usr/bin/env bash
# perf profile of the release server under wrk -c64 on one scenario, symbols grouped by crate
# (bench/perf_groups.py). SESSION in the path becomes a fresh session id.
#   bench/profile.sh sqlite get.lua /api/checkout/SESSION
set -euo pipefail
cd "$(dirname "$0")/.."
db=$1; script=$2; path=$3
tmp=$(mktemp -d)
if [ "$db" = sqlite ]; then url="sqlite://$tmp/p.db?mode=rwc"; else
  psql postgres://postgres@127.0.0.1:5432/postgres -qc "DROP DATABASE IF EXISTS ik_prof WITH (FORCE)" -c "CREATE DATABASE ik_prof" 2>/dev/null
  url=postgres://postgres@127.0.0.1:5432/ik_prof; fi
IKAWAARI_BIND=127.0.0.1:7300 DATABASE_URL="$url" IKAWAARI_PAY_RATE_LIMIT=0 RUST_LOG=warn IKAWAARI_SECRETS_KEY_FILE=$tmp/k target/release/ikawaari serve >$tmp/out 2>$tmp/err &
pid=$!
for _ in $(seq 100); do grep -q "listening on" $tmp/out 2>/dev/null && break; sleep 0.2; done
key=$(sed -n 's/^test key: //p' $tmp/out)
sess=$(curl -s -X POST "http://127.0.0.1:7300/api/v1/checkout/sessions" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' -d "$(sed -n "s/^wrk.body = '\(.*\)'$/\1/p" bench/post.lua)" | sed -n 's/.*"id":"\(cs_[^"]*\)".*/\1/p')
path=${path//SESSION/$sess}
IK_KEY=$key wrk -t2 -c64 -d14s -s bench/$script "http://127.0.0.1:7300$path" > $tmp/wrk &
sleep 2
perf record -F 499 -g -p $pid -o /tmp/perf.data -- sleep 10 2>/dev/null >/dev/null
wait %2 || true
grep "Requests/sec" $tmp/wrk
kill $pid
perf report -i /tmp/perf.data --no-children --sort dso,symbol --stdio 2>/dev/null > $tmp/report; python3 bench/perf_groups.py $tmp/report -v
