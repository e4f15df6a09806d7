#!/usr/bin/env bash
# Scheduler lag with many watched deployments: one `shipcheck serve --watch` over
# DEPLOYMENTS profiles (one config item each, in the post-deploy-immediate phase), a deploy
# of each posted over SPREAD seconds (0: all at once, a burst), so each deploy's immediate
# job falls due at its deploy. The lag of a job is when it started minus when it was due;
# its quantiles are read from /metrics (`shipcheck_scheduler_lag_seconds`, bucket bounds).
#   bench/scheduler.sh [DEPLOYMENTS=1000] [SPREAD=60] [POLL=100ms]
set -euo pipefail
cd "$(dirname "$0")/.."
D=${1:-1000}
SPREAD=${2:-60}
POLL=${3:-100ms}
cargo build --release --quiet -p shipcheck --bin shipcheck
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
mkdir "$work/fleet"
cat >"$work/fleet/pack.yaml" <<'YAML'
name: p
version: "1"
title: P
sections:
  - id: s
    title: S
    items:
      - id: up
        title: up
        severity: high
        phase: post-deploy-immediate
        why: bench
        fix: bench
        check:
          config: {path: ../a.json, query: .up}
          expect: [{equals: true}]
YAML
echo '{"up": true}' >"$work/fleet/a.json"
for i in $(seq -w 1 "$D"); do
  mkdir "$work/fleet/svc-$i"
  printf 'deployment: svc-%s\npacks: [../pack.yaml]\nenvironment: prod\n' "$i" >"$work/fleet/svc-$i/shipcheck.yaml"
done
db="$work/ledger.db"
token=$(target/release/shipcheck token create --name bench --role admin --db "$db")
target/release/shipcheck serve --listen 127.0.0.1:0 --db "$db" --watch "$work/fleet" \
  --scheduler-poll "$POLL" --rate-limit 1000000/1s >"$work/serve.out" 2>"$work/serve.err" &
pid=$!
for _ in $(seq 300); do grep -q listening "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
url=$(grep -o 'http://[0-9.:]*' "$work/serve.out")
python3 - "$url" "$token" "$D" "$SPREAD" <<'PY'
import http.client, json, sys, time, urllib.parse
url, token, d, spread = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
conn = http.client.HTTPConnection(urllib.parse.urlparse(url).netloc, timeout=60)
auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
def call(method, path, body=None):
    conn.request(method, path, body=body, headers=auth)
    r = conn.getresponse()
    data = r.read()
    assert r.status < 300, (path, r.status, data[:200])
    return data
start = time.perf_counter()
for i in range(1, d + 1):
    call("POST", f"/api/v1/deployments/svc-{i:0{len(str(d))}d}/deploys", b'{"environment": "prod"}')
    wait = start + spread * i / d - time.perf_counter()
    if wait > 0:
        time.sleep(wait)
def metrics():
    return call("GET", "/metrics").decode()
def total(text, prefix):
    return sum(float(l.rsplit(" ", 1)[1]) for l in text.splitlines() if l.startswith(prefix))
deadline = time.time() + 600
while True:
    text = metrics()
    if total(text, 'shipcheck_runs_recorded_total') >= d or time.time() > deadline:
        break
    time.sleep(0.5)
done = time.perf_counter() - start
buckets = []
for line in text.splitlines():
    if line.startswith("shipcheck_scheduler_lag_seconds_bucket"):
        le = line.split('le="')[1].split('"')[0]
        buckets.append((float("inf") if le == "+Inf" else float(le), float(line.rsplit(" ", 1)[1])))
count = total(text, "shipcheck_scheduler_lag_seconds_count")
def quantile(q):
    for le, n in sorted(buckets):
        if n >= q * count:
            return le
print(f"{d} deployments, deploys over {spread:g} s: {int(total(text, 'shipcheck_runs_recorded_total'))} scheduled runs in {done:.1f} s")
print(f"scheduler lag (start - due), bucket upper bounds: p50 <= {quantile(0.5)} s, p99 <= {quantile(0.99)} s, max <= {quantile(1.0)} s")
PY
echo "server peak RSS: $(grep VmHWM /proc/$pid/status | awk '{print $2/1024 " MiB"}')"
