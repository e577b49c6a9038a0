#!/usr/bin/env bash
# Ikawaari against ../shared/bench-ceiling (same axum + sqlx stack, no logic),
# in one run, same wrk connections and duration. Prints req/s and the ratio.
#   bench/run.sh            (DURATION=8s CONNS=64 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
D=${DURATION:-8s}
C=${CONNS:-64}
PG=${PG_URL:-postgres://postgres@127.0.0.1:5432}
cargo build --release -q
cargo build --release -q --manifest-path ../shared/bench-ceiling/Cargo.toml --target-dir target/bench-ceiling
tmp=$(mktemp -d)
psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS ik_bench WITH (FORCE)" -c "CREATE DATABASE ik_bench" >/dev/null
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
CEILING_BIND=127.0.0.1:7070 CEILING_SQLITE="$tmp/ceiling.db" CEILING_PG_URL="$PG/test" target/bench-ceiling/release/ceiling &
pids+=($!)
start_ik() { # port database-url
  IKAWAARI_BIND=127.0.0.1:$1 DATABASE_URL="$2" IKAWAARI_PAY_RATE_LIMIT=0 RUST_LOG=warn target/release/ikawaari serve >"$tmp/ik$1.out" 2>/dev/null &
  pids+=($!)
  for _ in $(seq 50); do grep -q "listening on" "$tmp/ik$1.out" 2>/dev/null && break; sleep 0.2; done
}
start_ik 7080 "sqlite://$tmp/ik.db?mode=rwc"
start_ik 7081 "$PG/ik_bench"
sleep 0.5
key_lite=$(sed -n 's/^test key: //p' "$tmp/ik7080.out")
key_pg=$(sed -n 's/^test key: //p' "$tmp/ik7081.out")
session=$(IK_KEY=$key_lite; curl -s -X POST http://127.0.0.1:7080/api/v1/checkout/sessions -H "Authorization: Bearer $key_lite" -H 'Content-Type: application/json' \
  -d "$(sed -n "s/^wrk.body = '\(.*\)'$/\1/p" bench/post.lua)" | sed -n 's/.*"id":"\(cs_[^"]*\)".*/\1/p')

rps() { # label key script url
  local out
  out=$(IK_KEY="$2" wrk -t2 -c"$C" -d"$D" -s "bench/$3" "$4" 2>&1)
  local r; r=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  local non2xx; non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
  printf '%-44s %10s req/s %s\n' "$1" "$r" "${non2xx:+(non-2xx: $non2xx)}" >&2
  echo "$r"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "  ratio %.2f\n", a / b }' >&2; }

echo "wrk -t2 -c$C -d$D, $(nproc) cores, $(date -u +%FT%TZ)" >&2
c=$(rps "ceiling GET /static" "" get.lua http://127.0.0.1:7070/static)
i=$(rps "ikawaari GET /healthz" "" get.lua http://127.0.0.1:7080/healthz); ratio "$i" "$c"
c=$(rps "ceiling GET /sqlite/{id} (1 query)" "" get.lua http://127.0.0.1:7070/sqlite/cs_fixed)
i=$(rps "ikawaari GET /api/checkout/{id} (SQLite)" "" get.lua "http://127.0.0.1:7080/api/checkout/$session"); ratio "$i" "$c"
i=$(rps "ikawaari GET /api/v1/checkout/sessions/{id}" "$key_lite" get.lua "http://127.0.0.1:7080/api/v1/checkout/sessions/$session"); ratio "$i" "$c"
c=$(rps "ceiling POST /sqlite (create, FULL sync)" "" post.lua http://127.0.0.1:7070/sqlite)
i=$(rps "ikawaari POST /api/v1/checkout/sessions (SQLite)" "$key_lite" post.lua http://127.0.0.1:7080/api/v1/checkout/sessions); ratio "$i" "$c"
c=$(rps "ceiling POST /pg (create)" "" post.lua http://127.0.0.1:7070/pg)
i=$(rps "ikawaari POST /api/v1/checkout/sessions (PostgreSQL)" "$key_pg" post.lua http://127.0.0.1:7081/api/v1/checkout/sessions); ratio "$i" "$c"
echo "GraphQL 100-session page with items (SQLite, 1 connection):" >&2
IK_KEY=$key_lite wrk -t1 -c1 -d"$D" --latency -s bench/graphql.lua http://127.0.0.1:7080/graphql 2>&1 | grep -E "50%|90%|99%|Requests/sec" >&2
