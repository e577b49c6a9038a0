#!/usr/bin/env bash
# A/B of two release binaries on the read routes (public and authenticated) and
# create (SCENARIOS picks: public auth create), both serving at once,
# alternating wrk runs (wrk -t2 -cC -dD): the way to see a change of ±10 % on
# a machine whose runs move by ±15 %.
#   A=/tmp/ikawaari-before B=target/release/ikawaari ROUNDS=3 DBS=sqlite bench/ab.sh
#   A=… SCENARIOS=create C=256 bench/ab.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
A=${A:?the "before" binary}; B=${B:-target/release/ikawaari}; D=${D:-5s}; C=${C:-64}; ROUNDS=${ROUNDS:-2}
DBS=${DBS:-sqlite postgres}; SCENARIOS=${SCENARIOS:-public auth}
tmp=$(mktemp -d); pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$tmp"' EXIT
psql postgres://postgres@127.0.0.1:5432/postgres -qc "DROP DATABASE IF EXISTS ik_ab_a WITH (FORCE)" -c "CREATE DATABASE ik_ab_a" -c "DROP DATABASE IF EXISTS ik_ab_b WITH (FORCE)" -c "CREATE DATABASE ik_ab_b" 2>/dev/null
declare -A port key sess
p=7100
for v in a b; do for db in $DBS; do
  bin=$A; [ $v = b ] && bin=$B
  if [ $db = sqlite ]; then url="sqlite://$tmp/$v.db?mode=rwc"; else url="postgres://postgres@127.0.0.1:5432/ik_ab_$v"; fi
  p=$((p+1)); port[$v$db]=$p
  IKAWAARI_BIND=127.0.0.1:$p DATABASE_URL="$url" IKAWAARI_PAY_RATE_LIMIT=0 RUST_LOG=warn IKAWAARI_SECRETS_KEY_FILE=$tmp/$v$db.key "$bin" serve >"$tmp/$v$db.out" 2>"$tmp/$v$db.err" &
  pids+=($!)
  for _ in $(seq 100); do grep -q "listening on" "$tmp/$v$db.out" 2>/dev/null && break; sleep 0.2; done
  key[$v$db]=$(sed -n 's/^test key: //p' "$tmp/$v$db.out")
  sess[$v$db]=$(curl -s -X POST "http://127.0.0.1:$p/api/v1/checkout/sessions" -H "Authorization: Bearer ${key[$v$db]}" -H 'Content-Type: application/json' \
    -d "$(sed -n "s/^wrk.body = '\(.*\)'$/\1/p" bench/post.lua)" | sed -n 's/.*"id":"\(cs_[^"]*\)".*/\1/p')
done; done
one() { local out; out=$(env IK_KEY="$3" wrk -t2 -c$C -d$D --latency -s "bench/${6:-get.lua}" "$2" 2>&1); wrk_figures "$out"; printf '%-8s %-22s %-9s %9s req/s p50 %6s p99 %6s %s\n' "$4" "$1" "$5" "$rps" "$p50" "$p99" "${bad:+BAD $bad}"; }
for r in $(seq $ROUNDS); do for db in $DBS; do for v in a b; do
  b="http://127.0.0.1:${port[$v$db]}"
  for s in $SCENARIOS; do case $s in
    public) one "public read" "$b/api/checkout/${sess[$v$db]}" "" "$v" "$db" ;;
    auth) one "authenticated read" "$b/api/v1/checkout/sessions/${sess[$v$db]}" "${key[$v$db]}" "$v" "$db" ;;
    create) one "create" "$b/api/v1/checkout/sessions" "${key[$v$db]}" "$v" "$db" post.lua ;;
  esac; done
done; done; done
