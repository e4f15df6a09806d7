#!/usr/bin/env bash
# Bytes the ledger stores per run (issue #17): N runs of examples/demo (86 items) into a
# fresh SQLite ledger, the last one in another environment; prints each run's stored body,
# the bases (blobs) they share, and the average per run. Then times the commands that read
# it (`diff`, `gate`, `report latest`, `history`, `ledger verify`), wall time and peak RSS.
#   bench/ledger-size.sh [N]        (default 64; 1000 for the read figures)
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-64}"
cargo build --release --locked -p shipcheck --bin shipcheck
bin="$PWD/target/release/shipcheck"
work="$PWD/target/bench-ledger-size"
rm -rf "$work" && mkdir -p "$work"
cp -r examples/demo "$work/demo"
for i in $(seq 1 "$n"); do
  env=production
  [[ "$i" == "$n" ]] && env=staging
  (cd "$work/demo" && "$bin" check --profile shipcheck.yaml --env "$env" --db "$work/ledger.db" > /dev/null 2>&1 || true)
done
python3 - "$work/ledger.db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
runs = c.execute("SELECT seq, length(body) + coalesce(length(body_z), 0), body_base FROM records WHERE kind = 'run' ORDER BY seq").fetchall()
bases = {b for _, _, b in runs if b}
blob = sum(c.execute("SELECT length(content) FROM blobs WHERE sha256 = ?", (b,)).fetchone()[0] for b in bases)
bodies = sum(n for _, n, _ in runs)
for seq, size, base in runs[:3] + runs[-2:]:
    print(f"  run #{seq}: {size} bytes stored" + (f" (delta against base {base[:8]})" if base else ""))
print(f"  {len(runs)} runs: {bodies} bytes of run bodies + {blob} bytes of {len(bases)} base(s)"
      f" = {(bodies + blob) / len(runs):.0f} bytes per run")
PY
cd "$work/demo"
for cmd in "diff --profile shipcheck.yaml" "gate --profile shipcheck.yaml" \
           "report latest --profile shipcheck.yaml --format json" "history --profile shipcheck.yaml" \
           "ledger verify"; do
  # shellcheck disable=SC2086
  /usr/bin/time -f "  $cmd: %e s wall, %M KB max RSS" "$bin" $cmd --db "$work/ledger.db" > /dev/null 2> "$work/time.txt" || true
  tail -1 "$work/time.txt"
done
