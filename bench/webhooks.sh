#!/usr/bin/env bash
# Webhook delivery figures (issue 11's closing note), on SQLite and on
# PostgreSQL: release server + examples/webhook_bench.rs.
#   bench/webhooks.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PG=${PG_URL:-postgres://postgres@127.0.0.1:5432}
cargo build --release -q --bin ikawaari --example webhook_bench
tmp=$(mktemp -d)
psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS ik_bench_wh WITH (FORCE)" -c "CREATE DATABASE ik_bench_wh" >/dev/null
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
for db in "sqlite://$tmp/wh.db?mode=rwc" "$PG/ik_bench_wh"; do
  IKAWAARI_BIND=127.0.0.1:0 DATABASE_URL="$db" IKAWAARI_PAY_RATE_LIMIT=0 IKAWAARI_SECRETS_KEY_FILE="$tmp/key" RUST_LOG=warn \
    target/release/ikawaari serve >"$tmp/out" 2>/dev/null &
  pids+=($!)
  for _ in $(seq 50); do grep -q "listening on" "$tmp/out" 2>/dev/null && break; sleep 0.2; done
  echo "== ${db%%:*}"
  target/release/examples/webhook_bench "http://$(sed -n 's/^listening on //p' "$tmp/out")" "$(sed -n 's/^test key: //p' "$tmp/out")"
  kill "${pids[-1]}"
done
