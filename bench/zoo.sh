#!/usr/bin/env bash
# Benchmark: a full audit of the zoo (testkit's `zoo`: one nginx, a vhost per defect; the
# exact finding set of each vhost is asserted by tests/it/zoo.rs) by shipcheck (TLS and
# HTTP), next to sslyze (PyPI) and testssl.sh (Debian) in the same run, on the same
# endpoints. Loopback only; stops the zoo at exit.
#   bench/zoo.sh            # tools not installed are skipped, and said so
# sslyze: python3 -m venv V && V/bin/pip install sslyze; SSLYZE=V/bin/sslyze bench/zoo.sh
# testssl.sh: apt-get install testssl.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cargo build --release --quiet --bin shipcheck
cargo build --release --quiet -p shipcheck-testkit --bin zoo
bin="$root/target/release/shipcheck"
dir=$(mktemp -d)
"$root/target/release/zoo" "$dir" > "$dir/zoo.log" 2>&1 &
zoo=$!
cleanup() {
  kill "$zoo" 2>/dev/null || true
  wait "$zoo" 2>/dev/null || true
  nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" -s stop 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
for _ in $(seq 1 300); do [ -f "$dir/ready" ] && break; sleep 0.1; done
[ -f "$dir/ready" ] || { cat "$dir/zoo.log" >&2; exit 1; }
cd "$dir"
export ZOO_TOKEN=zoo-token-0123456789abcdef   # the valid token the HTTP targets read
n=$(grep -c '^- target:' tls-targets.yaml)
ports=$(sed -n 's/^- target: localhost:\([0-9]*\).*/\1/p' tls-targets.yaml)
secs() { python3 -c 'import sys,time; print(f"{time.time()-float(sys.argv[1]):.2f}")' "$1"; }
now() { python3 -c 'import time; print(time.time())'; }
h=$(grep -c '^- target:' http-targets.yaml)
echo "zoo: $n TLS endpoints ($h of them also audited over HTTP) on 127.0.0.1, $(nproc) cores"

t=$(now)
"$bin" probe tls --targets tls-targets.yaml --format json > tls.json || true
"$bin" probe http --targets http-targets.yaml --format json > http.json || true
total=$(secs "$t")
found=$(python3 -c 'import json; print(sum(len(r["findings"]) for f in ("tls.json","http.json") for r in json.load(open(f))))')
printf '%-44s %8s s   %s findings\n' "shipcheck (TLS + HTTP, all $n)" "$total" "$found"
t=$(now)
"$bin" probe tls --targets tls-targets.yaml --format json > /dev/null || true
tls=$(secs "$t")
printf '%-44s %8s s\n' "shipcheck (TLS only, all $n)" "$tls"
# The peers audit TLS only: their ratios are against shipcheck's TLS-only time.

sslyze=${SSLYZE:-$(command -v sslyze || true)}
if [ -n "$sslyze" ]; then
  for p in $ports; do echo "localhost:$p{127.0.0.1}"; done > sslyze-targets.txt
  t=$(now)
  "$sslyze" --targets_in sslyze-targets.txt --quiet --json_out sslyze.json > /dev/null 2>&1 || true
  s=$(secs "$t")
  printf '%-44s %8s s   (%.1fx shipcheck TLS only)\n' "sslyze (default scan, all $n)" "$s" "$(echo "$s / $tls" | bc -l)"
else
  echo "sslyze: not installed (see the top of this script)"
fi

if command -v testssl.sh >/dev/null || command -v testssl >/dev/null; then
  testssl=$(command -v testssl.sh || command -v testssl)
  for p in $ports; do echo "--ip=127.0.0.1 localhost:$p"; done > testssl-targets.txt
  t=$(now)
  "$testssl" --file testssl-targets.txt --mode parallel --quiet --warnings off --color 0 \
    --jsonfile testssl.json > /dev/null 2>&1 || true
  s=$(secs "$t")
  printf '%-44s %8s s   (%.1fx shipcheck TLS only)\n' "testssl.sh (default run, all $n, parallel)" "$s" "$(echo "$s / $tls" | bc -l)"
else
  echo "testssl.sh: not installed (apt-get install testssl.sh)"
fi
