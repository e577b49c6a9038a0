#!/usr/bin/env bash
# The dashboard's queries at a thousand and at a million stored sessions
# (seeded straight into the database with `ikawaari seed`), on SQLite and on
# PostgreSQL: req/s, p50, p99 per query and size, and the ratio of the big
# size to the small one. Prints a table; writes bench/results/<date>-scale.json.
#   bench/scale.sh                       (SIZES="1000 1000000" DBS="sqlite postgres")
#   SIZES=1000 DBS=sqlite DURATION=1s bench/scale.sh      (the CI smoke)
# Any non-2xx answer fails the run. Not a timed test: numbers are reported.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
SIZES=${SIZES:-1000 1000000}
DBS=${DBS:-sqlite postgres}
D=${DURATION:-5s}
C=${CONNS:-16}
PG=${PG_URL:-postgres://postgres@127.0.0.1:5432}
BIN=${IKAWAARI_BIN:-target/release/ikawaari}
# To measure an older build (no `seed` command): IKAWAARI_BIN=old SEED_BIN=new
# AFTER_SEED=script (run with the database URL, e.g. to undo newer migrations).
SEED_BIN=${SEED_BIN:-$BIN}
OUT=${OUT:-bench/results/$(date -u +%F)-scale.json}
[ -n "${IKAWAARI_BIN:-}" ] || cargo build --release -q
command -v wrk >/dev/null || { echo "scale.sh: wrk is required (apt-get install wrk)" >&2; exit 2; }
tmp=$(mktemp -d)
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$tmp"' EXIT
port=7090
base=http://127.0.0.1:$port

day=86400
midnight=$(( $(date +%s) / day * day + day ))
iso() { date -u -d "@$1" +%FT%TZ; }
stats_body() { # days
  printf '{"query":"{ checkoutStats(from: \\"%s\\", to: \\"%s\\") { created counts { open complete expired } grossVolume { currency amount } refundedVolume { amount } netVolume { amount } series { date created } } }"}' \
    "$(iso $((midnight - $1 * day)))" "$(iso "$midnight")"
}
# The probed session: the 500th, or the middle one of a smaller seed.
smallest=$(echo "$SIZES" | tr ' ' '\n' | sort -n | head -1)
i=$(( smallest < 1000 ? smallest / 2 : 500 ))
sid=$(printf 'cs_test_seed%09d' "$i")
# label|path|graphql body (empty: GET)
queries() {
  cat <<EOF
public GET /api/checkout/{id}|/api/checkout/$sid|
GET sessions?limit=20|/api/v1/checkout/sessions?limit=20|
GET sessions?limit=20&status=complete|/api/v1/checkout/sessions?limit=20&status=complete|
GET sessions?client_reference_id=ref$i|/api/v1/checkout/sessions?client_reference_id=ref$i|
GET sessions?customer_email=buyer$i@…|/api/v1/checkout/sessions?customer_email=buyer$i@example.com|
GraphQL checkoutSessions(first: 20) totalCount|/graphql|{"query":"{ checkoutSessions(first: 20) { totalCount nodes { id status amountTotal } } }"}
GraphQL checkoutSessions(search: ref$i)|/graphql|{"query":"{ checkoutSessions(first: 20, filter: {search: \"ref$i\"}) { totalCount nodes { id } } }"}
GraphQL checkoutStats 30 days|/graphql|$(stats_body 30)
GraphQL checkoutStats 90 days|/graphql|$(stats_body 90)
GraphQL checkoutStats 365 days|/graphql|$(stats_body 365)
EOF
}


results="$tmp/results.tsv"
: >"$results"
for db in $DBS; do
  for n in $SIZES; do
    case $db in
      sqlite) url="sqlite://$tmp/scale-$n.db?mode=rwc" ;;
      postgres)
        psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS ik_scale WITH (FORCE)" -c "CREATE DATABASE ik_scale" >/dev/null
        url="$PG/ik_scale" ;;
    esac
    IKAWAARI_BIND=127.0.0.1:$port DATABASE_URL="$url" RUST_LOG=warn "$BIN" serve >"$tmp/serve.out" 2>"$tmp/serve.err" &
    server=$!
    for _ in $(seq 100); do grep -q "listening on" "$tmp/serve.out" 2>/dev/null && break; sleep 0.2; done
    key=$(sed -n 's/^test key: //p' "$tmp/serve.out")
    [ -n "$key" ] || { echo "scale.sh: the server did not start:" >&2; cat "$tmp/serve.err" >&2; exit 1; }
    seeded_at=$(date +%s)
    DATABASE_URL="$url" RUST_LOG=warn "$SEED_BIN" seed --sessions "$n" >/dev/null
    [ -z "${AFTER_SEED:-}" ] || "$AFTER_SEED" "$url"
    echo "# $db, $n sessions (seeded in $(( $(date +%s) - seeded_at )) s), wrk -c$C -d$D" >&2
    while IFS='|' read -r label path body; do
      out=$(IK_KEY="$key" IK_BODY="$body" wrk -t"$(( C < 2 ? C : 2 ))" -c"$C" -d"$D" --latency -s bench/request.lua "$base$path" 2>&1)
      wrk_figures "$out"
      printf '  %-48s %10s req/s  p50 %8s ms  p99 %8s ms%s\n' "$label" "$rps" "$p50" "$p99" "${bad:+  NON-2XX: $bad}" >&2
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$db" "$n" "$label" "$rps" "$p50" "$p99" "${bad:-0}" >>"$results"
    done < <(queries)
    rss=$(ps -o rss= -p "$server" | tr -d ' ')
    echo "  product RSS $((rss / 1024)) MiB" >&2
    kill "$server"; wait "$server" 2>/dev/null || true; server=""
  done
done

# The big size against the small one, per database and query.
small=$(echo "$SIZES" | awk '{print $1}')
big=$(echo "$SIZES" | awk '{print $NF}')
mkdir -p "$(dirname "$OUT")"
python3 - "$results" "$small" "$big" "$OUT" "$C" "$D" <<'PY'
import json, sys
path, small, big, out, conns, dur = sys.argv[1:]
rows = [l.rstrip("\n").split("\t") for l in open(path) if l.strip()]
by = {(r[0], r[1], r[2]): r for r in rows}
result = {"conns": int(conns), "duration": dur, "sizes": [int(small), int(big)], "runs": []}
print(f"\n| query | db | {small} req/s | {big} req/s | ratio | p99 at {big} (ms) |", file=sys.stderr)
print("|---|---|---|---|---|---|", file=sys.stderr)
for (db, n, label), r in by.items():
    result["runs"].append({"db": db, "sessions": int(n), "query": label, "rps": float(r[3]),
                           "p50_ms": float(r[4]), "p99_ms": float(r[5]), "non_2xx": int(r[6])})
    if n != big:
        continue
    s = by.get((db, small, label))
    ratio = float(r[3]) / float(s[3]) if s and float(s[3]) else float("nan")
    print(f"| {label} | {db} | {s[3] if s else '-'} | {r[3]} | {ratio:.2f} | {r[5]} |", file=sys.stderr)
json.dump(result, open(out, "w"), indent=1)
print(f"\nwritten {out}", file=sys.stderr)
bad = [r for r in rows if r[6] != "0"]
if bad:
    print("non-2xx answers: " + ", ".join(f"{r[0]} {r[1]} {r[2]}: {r[6]}" for r in bad), file=sys.stderr)
    sys.exit(1)
PY
