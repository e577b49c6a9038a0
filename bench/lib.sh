# Shared by bench/run.sh and bench/scale.sh (sourced).

# wrk latency (1.23ms / 850.00us / 1.02s) in milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000; printf "%.2f", n }'
}

# wrk_figures OUTPUT: sets rps, p50, p99 (ms) and bad (non-2xx count, empty if none).
wrk_figures() {
  rps=$(echo "$1" | awk '/Requests\/sec/ {print $2}')
  p50=$(to_ms "$(echo "$1" | awk '$1 == "50%" {print $2}')")
  p99=$(to_ms "$(echo "$1" | awk '$1 == "99%" {print $2}')")
  bad=$(echo "$1" | awk '/Non-2xx/ {print $NF}')
}
