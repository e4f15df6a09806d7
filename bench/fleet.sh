#!/usr/bin/env bash
# The server over a large ledger: DEPLOYMENTS × RUNS runs of the bundled demo's run (86
# items), an attestation and a sign-off per deployment; then REQUESTS sequential requests
# for each page, their p50/p95/max latency, and the server's peak RSS.
#   bench/fleet.sh [DEPLOYMENTS=200] [RUNS=500] [REQUESTS=200]
set -euo pipefail
cd "$(dirname "$0")/.."
D=${1:-200}
R=${2:-500}
N=${3:-200}
cargo build --release --quiet -p shipcheck --bin shipcheck
cargo build --release --quiet -p shipcheck-testkit --bin fleetgen
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
target/release/shipcheck check --profile examples/demo/shipcheck.yaml --format json --no-record >"$work/run.json" || true
start=$(date +%s.%N)
target/release/fleetgen "$work/ledger.db" "$work/run.json" "$D" "$R"
echo "generated in $(echo "$(date +%s.%N) - $start" | bc) s; ledger $(du -h "$work/ledger.db" | cut -f1)"
target/release/shipcheck serve --listen 127.0.0.1:0 --db "$work/ledger.db" --anonymous-read \
  --rate-limit 1000000/1s >"$work/serve.out" 2>"$work/serve.err" &
pid=$!
for _ in $(seq 100); do grep -q listening "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
url=$(grep -o 'http://[0-9.:]*' "$work/serve.out")
python3 - "$url" "$N" "$D" <<'PY'
import http.client, sys, time, urllib.parse
url, n, d = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
host = urllib.parse.urlparse(url).netloc
conn = http.client.HTTPConnection(host, timeout=60)
def get(path):
    t = time.perf_counter()
    conn.request("GET", path)
    r = conn.getresponse()
    body = r.read()
    assert r.status == 200, (path, r.status, body[:200])
    return time.perf_counter() - t, body
import json
cold, _ = get("/")
print(f"fleet page, first request after start (every gate computed): {cold*1000:.1f} ms")
_, api = get("/api/v1/deployments")
rows = json.loads(api)
assert len(rows) == d, len(rows)
run_id = rows[0]["latest"]["id"]
pages = {
    "fleet page /": "/",
    "fleet API /api/v1/deployments": "/api/v1/deployments",
    "run page /runs/ID": f"/runs/{run_id}",
    "deployment page (50 runs, gate)": f"/deployments/{rows[0]['deployment']}?environment=production",
    "gate API": f"/api/v1/deployments/{rows[0]['deployment']}/gate?environment=production",
}
print(f"| page | p50 | p95 | max |")
print(f"|---|---|---|---|")
for name, path in pages.items():
    get(path)  # warm
    times = sorted(get(path)[0] for _ in range(n))
    p = lambda q: times[min(len(times) - 1, int(q * len(times)))] * 1000
    print(f"| {name} | {p(0.5):.1f} ms | {p(0.95):.1f} ms | {times[-1]*1000:.1f} ms |")
PY
echo "server peak RSS: $(grep VmHWM /proc/$pid/status | awk '{print $2/1024 " MiB"}')"
