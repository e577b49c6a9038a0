#!/usr/bin/env python3
"""Groups a `perf report --sort dso,symbol --stdio` by crate (bench/profile.sh)."""
import sys, re, collections
# perf report --no-children --sort dso,symbol --stdio lines: "  5.43%  ikawaari  [.] sym"
groups = collections.OrderedDict([
 ("kernel (syscalls, scheduling, network)", [r"\[kernel", r"\[k\]"]),
 ("sqlite engine (libsqlite3)", [r"sqlite3", r"libsqlite"]),
 ("sqlx (incl. SQLite worker hand-off)", [r"sqlx", r"flume", r"futures_intrusive"]),
 ("sea-orm / sea-query (statement building, row mapping)", [r"sea_orm", r"sea_query"]),
 ("serde / JSON", [r"serde", r"ryu", r"itoa"]),
 ("allocator (mimalloc, memcpy)", [r"mi_", r"_mi_", r"memmove", r"memcpy", r"memset", r"malloc", r"free"]),
 ("hyper / http / axum / tower (framework)", [r"hyper", r"http::", r"axum", r"tower", r"matchit", r"bytes::"]),
 ("tokio runtime", [r"tokio", r"parking_lot", r"std::sys::sync", r"futex"]),
 ("tracing", [r"tracing"]),
 ("ikawaari (our code)", [r"ikawaari::"]),
 ("postgres client protocol", [r"postgres"]),
])
tot = collections.Counter(); other = []
for line in open(sys.argv[1]):
    m = re.match(r"\s+([\d.]+)%\s+(\S+)\s+(\[.\])\s+(.*)", line)
    if not m: continue
    pct, dso, kind, sym = float(m.group(1)), m.group(2), m.group(3), m.group(4)
    s = dso + " " + kind + " " + sym
    for g, pats in groups.items():
        if any(re.search(p, s) for p in pats):
            tot[g] += pct; break
    else:
        tot["other"] += pct; other.append((pct, s[:100]))
for g, v in tot.most_common(): print(f"{v:6.1f}%  {g}")
if "-v" in sys.argv:
    for p, s in sorted(other, reverse=True)[:15]: print("   other", p, s)
