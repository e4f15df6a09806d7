#!/usr/bin/env bash
# Build times of the workspace: a cold `cargo test --no-run` of everything, then the
# incremental builds a developer meets most: the core's tests after touching one core file,
# the binary after touching that core file, the binary after touching the CLI, and the
# binary after touching one probe. Uses a target folder of its own, so it is cold.
# Usage: bench/build-times.sh [TARGET_DIR]   (default: target/bench-build; removed first)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${1:-$PWD/target/bench-build}"
rm -rf "$CARGO_TARGET_DIR"
t() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); printf '%.1f s' "$(echo "$e - $s" | bc)"; }
echo "cold: cargo test --workspace --all-targets --no-run: $(t cargo test --locked --workspace --all-targets --no-run)"
touch crates/core/src/pack/mod.rs
echo "touch core/pack/mod.rs; cargo test -p shipcheck-core --lib --no-run: $(t cargo test --locked -p shipcheck-core --lib --no-run)"
touch crates/core/src/pack/mod.rs
echo "touch core/pack/mod.rs; cargo build --bin shipcheck: $(t cargo build --locked --bin shipcheck)"
touch src/main.rs
echo "touch src/main.rs; cargo build --bin shipcheck: $(t cargo build --locked --bin shipcheck)"
touch crates/probes/src/http/mod.rs
echo "touch probes/http/mod.rs; cargo build --bin shipcheck: $(t cargo build --locked --bin shipcheck)"
