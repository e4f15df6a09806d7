#!/usr/bin/env bash
# The whole test suite: installs the servers the tests need (nginx, PostgreSQL) when
# missing, then runs every test. The tests start and stop their own server instances.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-test-deps.sh
# Layering: no cycles between crates or modules, and no network stack in the core.
python3 scripts/check-layers.py >/dev/null || python3 scripts/check-layers.py
# Formatting, the fuzz crate (a workspace of its own) included.
cargo fmt --all -- --check
(cd fuzz && cargo fmt -- --check)
cargo test --locked --workspace --all-targets "$@"
