# Sourced by bench/cpu.sh and bench/profile.sh: start_product DB starts the
# release product ($BIN, else target/release/ikawaari) on 127.0.0.1:7300
# against a fresh SQLite file or PostgreSQL database `ik_prof`, and sets
# tmp (its directory), pid, key (the printed test key) and sess (a created
# session's id).
start_product() {
  local db=$1 url
  tmp=$(mktemp -d)
  if [ "$db" = sqlite ]; then
    url="sqlite://$tmp/p.db?mode=rwc"
  else
    psql postgres://postgres@127.0.0.1:5432/postgres -qc "DROP DATABASE IF EXISTS ik_prof WITH (FORCE)" -c "CREATE DATABASE ik_prof" 2>/dev/null
    url=postgres://postgres@127.0.0.1:5432/ik_prof
  fi
  IKAWAARI_BIND=127.0.0.1:7300 DATABASE_URL="$url" IKAWAARI_PAY_RATE_LIMIT=0 RUST_LOG=warn \
    IKAWAARI_SECRETS_KEY_FILE=$tmp/k "${BIN:-target/release/ikawaari}" serve >"$tmp/out" 2>"$tmp/err" &
  pid=$!
  for _ in $(seq 100); do grep -q "listening on" "$tmp/out" 2>/dev/null && break; sleep 0.2; done
  key=$(sed -n 's/^test key: //p' "$tmp/out")
  sess=$(curl -s -X POST "http://127.0.0.1:7300/api/v1/checkout/sessions" -H "Authorization: Bearer $key" \
    -H 'Content-Type: application/json' -d "$(sed -n "s/^wrk.body = '\(.*\)'$/\1/p" bench/post.lua)" |
    sed -n 's/.*"id":"\(cs_[^"]*\)".*/\1/p')
}
