#!/usr/bin/env bash
# The same command with two binaries, alternating, N times each, in one run: the median wall
# time and the median CPU time (user + system) of each.
#   bench/side-by-side.sh N BINARY_A BINARY_B ARGS...
set -euo pipefail
python3 - "$@" <<'PY'
import resource, statistics, subprocess, sys, time
n, a, b, args = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
res = {a: [], b: []}
for _ in range(n):
    for binary in (a, b):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        subprocess.run([binary] + args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        res[binary].append((wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)))
for binary in (a, b):
    walls = [w for w, _ in res[binary]]
    cpus = [c for _, c in res[binary]]
    print(f"{binary}: wall median {statistics.median(walls)*1000:.0f} ms, CPU median {statistics.median(cpus)*1000:.0f} ms")
PY
