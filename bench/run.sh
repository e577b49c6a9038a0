#!/usr/bin/env bash
# Ikawaari against ../shared/bench-ceiling (same axum + sqlx stack, no logic),
# in one run, same wrk threads, connections and duration: every scenario on
# SQLite and on PostgreSQL, at each connection count. Prints a table and
# writes bench/results/<date>.json (req/s, p50, p99, non-2xx, ratio to the
# ceiling, product RSS). Any non-2xx answer fails the run.
#   bench/run.sh                                  (DURATION=5s CONNS_LIST="64 256")
#   DURATION=1s CONNS_LIST=8 PAY_POOL=4000 bench/run.sh        (the CI smoke)
#   IKAWAARI_BIN=/tmp/ikawaari-before OUT=/tmp/before.json bench/run.sh
# Not a timed test: the figures are reported, bench/README.md keeps the latest.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
D=${DURATION:-5s}
CONNS_LIST=${CONNS_LIST:-64 256}
THREADS=2
PG=${PG_URL:-postgres://postgres@127.0.0.1:5432}
PAY_POOL=${PAY_POOL:-60000}   # open sessions per (database, connection count)
OUT=${OUT:-bench/results/$(date -u +%F).json}
PROFILE=${PROFILE:-release}
if [ "$PROFILE" = release ]; then flag=--release; else flag=; fi
# IKAWAARI_BIN: another build of the product (the "before" of a change).
[ -n "${IKAWAARI_BIN:-}" ] || cargo build $flag -q --bin ikawaari
cargo build $flag -q --manifest-path ../shared/bench-ceiling/Cargo.toml --target-dir target/bench-ceiling
BIN=${IKAWAARI_BIN:-target/$PROFILE/ikawaari}
CEILING=target/bench-ceiling/$PROFILE/ceiling
command -v wrk >/dev/null || { echo "run.sh: wrk is required (apt-get install wrk)" >&2; exit 2; }
tmp=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$tmp"' EXIT
psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS ik_bench WITH (FORCE)" -c "CREATE DATABASE ik_bench" \
  -c "DROP DATABASE IF EXISTS ik_bench_ceiling WITH (FORCE)" -c "CREATE DATABASE ik_bench_ceiling" 2>/dev/null
CEILING_BIND=127.0.0.1:7070 CEILING_SQLITE="$tmp/ceiling.db" CEILING_PG_URL="$PG/ik_bench_ceiling" "$CEILING" &
pids+=($!)
declare -A url port key session pid
url[sqlite]="sqlite://$tmp/ik.db?mode=rwc"; port[sqlite]=7080
url[postgres]="$PG/ik_bench"; port[postgres]=7081
for db in sqlite postgres; do
  IKAWAARI_BIND=127.0.0.1:${port[$db]} DATABASE_URL="${url[$db]}" IKAWAARI_PAY_RATE_LIMIT=0 RUST_LOG=warn \
    "$BIN" serve >"$tmp/$db.out" 2>"$tmp/$db.err" &
  pid[$db]=$!; pids+=($!)
  for _ in $(seq 100); do grep -q "listening on" "$tmp/$db.out" 2>/dev/null && break; sleep 0.2; done
  key[$db]=$(sed -n 's/^test key: //p' "$tmp/$db.out")
  [ -n "${key[$db]}" ] || { echo "run.sh: $db server did not start" >&2; cat "$tmp/$db.err" >&2; exit 1; }
  # One pool of open sessions per connection count, paid once each.
  n=0; for _ in $CONNS_LIST; do n=$((n + PAY_POOL)); done
  DATABASE_URL="${url[$db]}" RUST_LOG=warn "$BIN" seed --open --sessions "$n" >/dev/null
  session[$db]=$(curl -s -X POST "http://127.0.0.1:${port[$db]}/api/v1/checkout/sessions" \
    -H "Authorization: Bearer ${key[$db]}" -H 'Content-Type: application/json' \
    -d "$(sed -n "s/^wrk.body = '\(.*\)'$/\1/p" bench/post.lua)" | sed -n 's/.*"id":"\(cs_[^"]*\)".*/\1/p')
done
for _ in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:7070/static && break; sleep 0.2; done

results="$tmp/results.tsv"
: >"$results"
# run CONNS SCENARIO DB(or -) KEY SCRIPT URL [env…]: one wrk run, one result row.
run() {
  local c=$1 scenario=$2 db=$3 k=$4 script=$5 u=$6; shift 6
  local out rps p50 p99 bad
  out=$(env IK_KEY="$k" IK_THREADS=$THREADS "$@" wrk -t$THREADS -c"$c" -d"$D" --latency -s "bench/$script" "$u" 2>&1)
  wrk_figures "$out"
  printf '  %-34s %-9s %10s req/s  p50 %8s ms  p99 %8s ms%s\n' "$scenario" "$db" "$rps" "$p50" "$p99" "${bad:+  NON-2XX: $bad}" >&2
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$c" "$scenario" "$db" "$rps" "$p50" "$p99" "${bad:-0}" >>"$results"
}
dash='{"query":"{ checkoutSessions(first: 20) { totalCount nodes { id status amountTotal lineItems { name amountTotal } paymentIntent { status } } } }"}'
pay_first=1
echo "wrk -t$THREADS -d$D, $(nproc) cores, $PROFILE build, $(date -u +%FT%TZ)" >&2
for c in $CONNS_LIST; do
  echo "# $c connections" >&2
  run "$c" "static JSON (framework)" ceiling "" get.lua http://127.0.0.1:7070/static
  run "$c" "GET /healthz (framework)" - "" get.lua "http://127.0.0.1:${port[sqlite]}/healthz"
  run "$c" "read by key" ceiling "" get.lua http://127.0.0.1:7070/sqlite/cs_fixed
  run "$c" "create" ceiling-sqlite "" post.lua http://127.0.0.1:7070/sqlite
  run "$c" "create" ceiling-pg "" post.lua http://127.0.0.1:7070/pg
  for db in sqlite postgres; do
    b="http://127.0.0.1:${port[$db]}"
    run "$c" "public read" "$db" "" get.lua "$b/api/checkout/${session[$db]}"
    run "$c" "authenticated read" "$db" "${key[$db]}" get.lua "$b/api/v1/checkout/sessions/${session[$db]}"
    run "$c" "list (20 per page)" "$db" "${key[$db]}" get.lua "$b/api/v1/checkout/sessions?limit=20"
    run "$c" "create" "$db" "${key[$db]}" post.lua "$b/api/v1/checkout/sessions"
    run "$c" "card pay (each session once)" "$db" "" pay.lua "$b" IK_FIRST=$pay_first
    run "$c" "GraphQL dashboard page" "$db" "${key[$db]}" request.lua "$b/graphql" IK_BODY="$dash"
  done
  pay_first=$((pay_first + PAY_POOL))
done
rss_sqlite=$(($(ps -o rss= -p "${pid[sqlite]}") / 1024))
rss_pg=$(($(ps -o rss= -p "${pid[postgres]}") / 1024))
echo "product RSS after the run: SQLite $rss_sqlite MiB, PostgreSQL $rss_pg MiB" >&2

mkdir -p "$(dirname "$OUT")"
python3 - "$results" "$OUT" "$D" "$rss_sqlite" "$rss_pg" <<'PY'
import json, sys
path, out, dur, rss_lite, rss_pg = sys.argv[1:]
rows = [l.rstrip("\n").split("\t") for l in open(path) if l.strip()]
res = {(r[0], r[1], r[2]): r for r in rows}
# What each product scenario is compared with (the ceiling has no PostgreSQL
# read: reads on both databases are compared with its SQLite read by key).
reference = {"public read": "read by key", "authenticated read": "read by key",
             "list (20 per page)": "read by key", "GraphQL dashboard page": "read by key",
             "create": "create", "card pay (each session once)": "create"}
report = {"duration": dur, "rss_mib": {"sqlite": int(rss_lite), "postgres": int(rss_pg)}, "runs": []}
print("\n| conns | scenario | db | req/s | ratio | p50 ms | p99 ms | ceiling p99 ms |", file=sys.stderr)
print("|---|---|---|---|---|---|---|---|", file=sys.stderr)
for (c, scenario, db), r in res.items():
    row = {"conns": int(c), "scenario": scenario, "db": db, "rps": float(r[3]),
           "p50_ms": float(r[4]), "p99_ms": float(r[5]), "non_2xx": int(r[6])}
    ref = None
    if db in ("sqlite", "postgres") and scenario in reference:
        cdb = "ceiling" if reference[scenario] == "read by key" else f"ceiling-{'sqlite' if db == 'sqlite' else 'pg'}"
        ref = res.get((c, reference[scenario], cdb))
    if scenario.startswith("GET /healthz"):
        ref = res.get((c, "static JSON (framework)", "ceiling"))
    if ref:
        row["ceiling_rps"] = float(ref[3])
        row["ratio"] = round(float(r[3]) / float(ref[3]), 3) if float(ref[3]) else None
        row["ceiling_p99_ms"] = float(ref[5])
    report["runs"].append(row)
    print(f"| {c} | {scenario} | {db} | {r[3]} | {row.get('ratio', '')} | {r[4]} | {r[5]} | {row.get('ceiling_p99_ms', '')} |", file=sys.stderr)
json.dump(report, open(out, "w"), indent=1)
print(f"\nwritten {out}", file=sys.stderr)
bad = [r for r in rows if r[6] != "0"]
if bad:
    print("unexpected non-2xx: " + "; ".join(f"{r[1]} {r[2]} at {r[0]}: {r[6]}" for r in bad), file=sys.stderr)
    sys.exit(1)
PY
