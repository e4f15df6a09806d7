#!/usr/bin/env bash
# The main job on the built-in defaults: check the bundled CLASP relay deployment
# (examples/clasp) with the built-in `clasp` pack, live probes included, recording the run
# in the default SQLite ledger. The relay and its TLS reverse proxy are played by a loopback
# stand-in (crates/testkit, binary `standin`) on free ports with a throw-away CA.
# Extra arguments go to `shipcheck check` (e.g. --format json, --no-record).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p shipcheck -p shipcheck-testkit --bin shipcheck --bin standin
work="$PWD/target/demo"
rm -rf "$work" && mkdir -p "$work"
# git does not keep file modes, and the relay would have written its snapshot moments ago.
chmod 600 examples/clasp/secrets/admin.token
touch examples/clasp/data/state.json
target/release/standin examples/clasp/standin.json "$work/standin.env" &
standin=$!
trap 'kill $standin 2>/dev/null || true' EXIT
for _ in $(seq 50); do [[ -s "$work/standin.env" ]] && break; sleep 0.1; done
set -a; source "$work/standin.env"; set +a
status=0
target/release/shipcheck check --profile examples/clasp/shipcheck.yaml "$@" || status=$?
exit "$status"
