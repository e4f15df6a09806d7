#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 600) each, one after another on one core,
# from the seed corpus (./seed.sh), and prints one line per target for fuzz/README.md.
# Needs cargo-fuzz; nightly features come from RUSTC_BOOTSTRAP=1 on the stable toolchain.
set -uo pipefail
cd "$(dirname "$0")"
secs=${1:-600}
[ -d corpus ] || ./seed.sh >/dev/null
export RUSTC_BOOTSTRAP=1
cargo fuzz build -O >/dev/null 2>&1 || { echo "cargo fuzz build failed"; exit 1; }
for t in pack profile config launch args jq server_hello; do
  log="logs/$t.log"; mkdir -p logs
  cargo fuzz run -O "$t" "corpus/$t" -- -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 >"$log" 2>&1
  rc=$?
  runs=$(grep -oE 'Done [0-9]+ runs' "$log" | grep -oE '[0-9]+' || echo "?")
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || echo "?")
  if [ $rc -eq 0 ]; then result="no crash"; else result="FAILED (exit $rc, see $log and artifacts/$t)"; fi
  echo "| $t | ${secs} s | $runs | $cov | $result |"
done
