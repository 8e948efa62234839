#!/usr/bin/env bash
# CPU per connect and close of wsgate builds and the floor, alternated: each run a fresh server,
# 3,000 cycles of warm-up not measured, then COUNT anonymous cycles (64 at a time) measured
# through /proc. Compare the builds' lines with the floor's of the same repetition.
#
#   scripts/churn-ab.sh REPS COUNT TARGET...     TARGET: a wsgate binary, or "bare" (the floor)
#
# Uses bench/configs/idle.yaml (127.0.0.1:18080) and the floor on 127.0.0.1:18085; needs
# wsgate-bench on $PATH or in $WSGATE_BENCH. Loopback only; every server is stopped by its PID.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 3 ] || { sed -n '2,9p' "$0"; exit 2; }
reps=$1; n=$2; shift 2
B=${WSGATE_BENCH:-wsgate-bench}
for r in $(seq "$reps"); do
  for t in "$@"; do
    if [ "$t" = bare ]; then
      "$B" bare-server --listen 127.0.0.1:18085 >/dev/null 2>&1 & pid=$!; url=ws://127.0.0.1:18085/bench
    else
      "$t" serve --config bench/configs/idle.yaml >/dev/null 2>&1 & pid=$!; url=ws://127.0.0.1:18080/bench
    fi
    sleep 1.5
    "$B" churn --url "$url" --count 3000 --concurrency 64 --duration 60s >/dev/null 2>&1 || true
    "$B" churn --url "$url" --count "$n" --concurrency 64 --duration 120s --gateway-pid "$pid" 2>&1 |
      grep '^scenario' | sed -E 's#.*rate=([0-9]+).*gateway_cpu=([0-9.]+)s load=([0-9.]+).*#\1 \2 \3#' |
      awk -v t="$t" -v n="$n" -v r="$r" '{printf "r%s %-24s rate %5d/s  cpu/cycle %6.1f us  load %s\n", r, t, $1, $2/n*1e6, $3}'
    kill "$pid"; wait "$pid" 2>/dev/null || true
  done
done
