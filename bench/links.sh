#!/usr/bin/env bash
# Payment link visits (SPEC §12) against the public session read, in one run:
# wrk -t2 -c64 -d5s on a release build, SQLite then PostgreSQL.
#   - new visitor: GET /l/{id} without a cookie (each visit makes a session: a write)
#   - returning:   GET /l/{id} with the link's cookie (a read, the same session)
#   - public read: GET /api/checkout/{session}
# Then a bot: the same new-visitor load with the default visit limit (30 a
# minute per address): how many sessions it made, how many 429s it got.
#   bench/links.sh            (BIN=target/release/ikawaari DBS="sqlite postgres")
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
BIN=${BIN:-target/release/ikawaari}; D=${D:-5s}; C=${C:-64}; DBS=${DBS:-sqlite postgres}
tmp=$(mktemp -d); pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$tmp"' EXIT
serve() { # db limit
  local url
  if [ "$1" = sqlite ]; then url="sqlite://$tmp/$1$2.db?mode=rwc"; else
    psql postgres://postgres@127.0.0.1:5432/postgres -qc "DROP DATABASE IF EXISTS ik_links WITH (FORCE)" -c "CREATE DATABASE ik_links" >/dev/null
    url=postgres://postgres@127.0.0.1:5432/ik_links; fi
  IKAWAARI_BIND=127.0.0.1:7190 DATABASE_URL="$url" IKAWAARI_PAY_RATE_LIMIT=$2 RUST_LOG=warn IKAWAARI_SECRETS_KEY_FILE=$tmp/key "$BIN" serve >"$tmp/out" 2>"$tmp/err" &
  pid=$!
  for _ in $(seq 100); do grep -q "listening on" "$tmp/out" 2>/dev/null && break; sleep 0.2; done
  key=$(sed -n 's/^test key: //p' "$tmp/out")
  link=$(curl -s -X POST http://127.0.0.1:7190/api/v1/payment_links -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
    -d '{"line_items":[{"name":"Pagne wax","amount":15000,"currency":"XOF"}]}' | sed -n 's/.*"id":"\(plink_[^"]*\)".*/\1/p')
  cookie=$(curl -s -o /dev/null -D - "http://127.0.0.1:7190/l/$link" | sed -n 's/^set-cookie: \([^;]*\).*/\1/ip')
  sess=${cookie#*=}
}
row() { # name db output
  wrk_figures "$3"; printf '%-12s %-26s %9s req/s p50 %6s ms p99 %6s ms %s\n' "$2" "$1" "$rps" "$p50" "$p99" "${bad:+non-2xx/3xx $bad}"
}
for db in $DBS; do
  serve "$db" 0
  row "public read" "$db" "$(wrk -t2 -c$C -d$D --latency "http://127.0.0.1:7190/api/checkout/$sess")"
  row "link, returning (cookie)" "$db" "$(wrk -t2 -c$C -d$D --latency -H "Cookie: $cookie" "http://127.0.0.1:7190/l/$link")"
  row "link, new visitor" "$db" "$(wrk -t2 -c$C -d$D --latency "http://127.0.0.1:7190/l/$link")"
  kill $pid; wait $pid 2>/dev/null || true; pid=
  serve "$db" 30
  out=$(wrk -t2 -c$C -d$D --latency "http://127.0.0.1:7190/l/$link")
  row "bot, limit 30/min" "$db" "$out"
  made=$(curl -s "http://127.0.0.1:7190/api/v1/checkout/sessions?payment_link=$link&limit=100" -H "Authorization: Bearer $key" | grep -o '"id":"cs_' | wc -l)
  echo "$db: the bot's ${D} at -c$C made $made sessions (1 by this script's cookie visit)"
  kill $pid; wait $pid 2>/dev/null || true; pid=
done
