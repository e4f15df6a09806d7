#!/usr/bin/env bash
# shipcheck next to the same checks done other ways, side by side in one run (issue #17):
#   1. each bundled example (examples/demo, examples/clasp with its loopback stand-in) against
#      the checklist documents' way, one jq/stat/curl/openssl process per item
#      (bench/per_item.py writes that script from the run's own evidence);
#   2. 1,000 generated file checks (bench/gen-items.py) against the same checks as one
#      process per item and as pytest-testinfra tests (testinfra from PyPI, local backend);
#   3. the large runs: 10,000 and 100,000 generated items, wall time and peak memory.
# Rounds alternate the contenders; the median wall time of each is printed with the ratio.
#   bench/compare.sh [ROUNDS]        (default 5; needs jq, curl, openssl, python3, pip)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-5}"
cargo build --release --locked -p shipcheck -p shipcheck-testkit --bin shipcheck --bin standin
bin="$PWD/target/release/shipcheck"
work="$PWD/target/bench-compare"
rm -rf "$work" && mkdir -p "$work"
python3 -m pip install --quiet 'pytest-testinfra==10.*' pytest

# Each command is started as a person or CI starts it, with no shell around it (a `bash -c`
# around each added 2-3 ms to both sides, a quarter of shipcheck's time for the demo):
# "cd DIR && PROGRAM ARGS..." runs PROGRAM in DIR.
median() { python3 - "$rounds" "$@" <<'PY'
import shlex, statistics, subprocess, sys, time
rounds, pairs = int(sys.argv[1]), sys.argv[2:]
names, cmds = pairs[0::2], pairs[1::2]
def argv(c):
    cwd = None
    if c.startswith("cd "):
        cwd, c = c[3:].split(" && ", 1)
    return shlex.split(c), cwd
times = {n: [] for n in names}
for r in range(rounds):
    # Alternating order, so neither side always runs on a machine the other just warmed.
    order = list(zip(names, cmds))
    for n, c in order if r % 2 == 0 else order[::-1]:
        args, cwd = argv(c)
        t = time.perf_counter()
        subprocess.run(args, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times[n].append(time.perf_counter() - t)
first = statistics.median(times[names[0]])
for n in names:
    m = statistics.median(times[n])
    print(f"  {n:<34} {m * 1000:9.1f} ms   {m / first:7.1f}x shipcheck's time")
PY
}

echo "== examples/demo (SecureClaw, offline): $rounds rounds"
(cd examples/demo && "$bin" check --profile shipcheck.yaml --no-record --format json > "$work/demo.json" || true)
python3 bench/per_item.py "$work/demo.json" > "$work/demo-per-item.sh"
median "shipcheck check" "cd examples/demo && $bin check --profile shipcheck.yaml --no-record" \
       "one process per item ($(grep -c 'n=\$((n+1))' "$work/demo-per-item.sh") items)" "cd examples/demo && bash $work/demo-per-item.sh"

echo "== examples/clasp (CLASP relay, live loopback stand-in): $rounds rounds"
chmod 600 examples/clasp/secrets/admin.token
touch examples/clasp/data/state.json
target/release/standin examples/clasp/standin.json "$work/standin.env" &
standin=$!
trap 'kill $standin 2>/dev/null || true' EXIT
for _ in $(seq 50); do [[ -s "$work/standin.env" ]] && break; sleep 0.1; done
set -a; source "$work/standin.env"; set +a
"$bin" check --profile examples/clasp/shipcheck.yaml --no-record --format json > "$work/clasp.json" || true
python3 bench/per_item.py "$work/clasp.json" "$STANDIN_CA" > "$work/clasp-per-item.sh"
median "shipcheck check" "$bin check --profile examples/clasp/shipcheck.yaml --no-record" \
       "one process per item ($(grep -c 'n=\$((n+1))' "$work/clasp-per-item.sh") items)" "bash $work/clasp-per-item.sh"
kill $standin 2>/dev/null || true

echo "== 1,000 generated file checks over 100 files: $rounds rounds"
python3 bench/gen-items.py 1000 100 "$work/g1k" --fail-every 50
median "shipcheck check" "$bin check --profile $work/g1k/shipcheck.yaml --no-record" \
       "one process per item" "bash $work/g1k/per-item.sh" \
       "pytest-testinfra (local)" "cd $work/g1k && python3 -m pytest -q -p no:cacheprovider test_items.py"

for n in 10000 100000; do
  echo "== $n generated items over $((n / 10)) files (goal: 10,000 < 1 s and < 100 MB; 100,000 < 10 s and < 500 MB)"
  python3 bench/gen-items.py "$n" "$((n / 10))" "$work/g$n" --fail-every 50
  for format in json human; do
    /usr/bin/time -f "  --format $format: %e s wall, %U s user, %S s system, %M KB max RSS" \
      "$bin" check --profile "$work/g$n/shipcheck.yaml" --no-record --format "$format" > /dev/null || true
  done
done
