#!/usr/bin/env bash
# CPU seconds of the product and of the PostgreSQL backends during 10 s of wrk -c64 on one
# scenario (the split of a create between us and the database).
#   bench/cpu.sh postgres post.lua /api/v1/checkout/sessions      (BIN= another build)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/server.sh
db=$1; script=$2; path=$3
start_product "$db"
path=${path//SESSION/$sess}
ticks() { awk '{print $14+$15}' /proc/$1/stat 2>/dev/null || echo 0; }
pgticks() { local t=0; for p in $(pgrep -f "postgres"); do t=$((t + $(ticks $p))); done; echo $t; }
a0=$(ticks $pid); p0=$(pgticks); s0=$(awk '/^cpu /{print $2+$3+$4+$5+$6+$7+$8}' /proc/stat)
IK_KEY=$key wrk -t2 -c64 -d10s -s bench/$script "http://127.0.0.1:7300$path" > $tmp/wrk
a1=$(ticks $pid); p1=$(pgticks); s1=$(awk '/^cpu /{print $2+$3+$4+$5+$6+$7+$8}' /proc/stat)
grep "Requests/sec" $tmp/wrk
echo "ikawaari cpu-s: $(( (a1-a0) ))/100  postgres cpu-s: $(( (p1-p0) ))/100  machine total: $(( s1-s0 ))/100"
kill $pid
