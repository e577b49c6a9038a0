#!/usr/bin/env bash
# perf profile of the release server under wrk -c64 on one scenario, symbols grouped by crate
# (bench/perf_groups.py). SESSION in the path becomes a fresh session id.
#   bench/profile.sh sqlite get.lua /api/checkout/SESSION     (BIN= another build)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/server.sh
db=$1; script=$2; path=$3
start_product "$db"
path=${path//SESSION/$sess}
IK_KEY=$key wrk -t2 -c64 -d14s -s bench/$script "http://127.0.0.1:7300$path" > $tmp/wrk &
sleep 2
perf record -F 499 -g -p $pid -o /tmp/perf.data -- sleep 10 2>/dev/null >/dev/null
wait %2 || true
grep "Requests/sec" $tmp/wrk
kill $pid
perf report -i /tmp/perf.data --no-children --sort dso,symbol --stdio 2>/dev/null > $tmp/report; python3 bench/perf_groups.py $tmp/report -v
