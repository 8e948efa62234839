#!/usr/bin/env bash
# One benchmark sitting: wsgate, the bare floor (internal/benchfloor) and a Centrifugo server,
# interleaved, the same scenario on each in turn (the order rotated every repetition), every run
# its own fresh server started and stopped by wsgate-bench (--spawn), every result line with the
# load averages at its start and end. docs/benchmarks.md is written from its output with
# scripts/bench-summary.py.
#
#   scripts/bench-compare.sh [-r REPS] [-o DIR] [-s "idle churn broadcast push sdk echo"]
#
#   -r  repetitions (default 3); a repetition runs every scenario once on every target
#   -o  result directory (default bench/results/sitting)
#   -s  scenarios to run (default all of: idle churn broadcast push sdk echo)
#
# Needs a Centrifugo v6 binary: $CENTRIFUGO or centrifugo on $PATH (the project ships none; its
# config is bench/configs/centrifugo.json). Without one the Centrifugo runs are skipped with a
# line saying so. Builds wsgate and wsgate-bench from this checkout into a temporary directory.
# Loopback only; every run is bounded by --duration; the servers are stopped by their PIDs.
set -euo pipefail
cd "$(dirname "$0")/.."

reps=3; out=bench/results/sitting; scen="idle churn broadcast push sdk echo"
while getopts "r:o:s:h" opt; do
  case $opt in
    r) reps=$OPTARG ;; o) out=$OPTARG ;; s) scen=$OPTARG ;;
    *) sed -n '2,17p' "$0"; exit 2 ;;
  esac
done
cf=${CENTRIFUGO:-$(command -v centrifugo || true)}
bin=$(mktemp -d /tmp/wsgate-bench-bin.XXXXXX)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/" ./cmd/wsgate ./cmd/wsgate-bench
mkdir -p "$out"
ulimit -n "$(ulimit -Hn)"
{
  echo "date: $(date -u +%FT%TZ)"
  echo "commit: $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (with local changes)')"
  echo "machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -h | awk '/Mem:/{print $2}') RAM, $(uname -r), $(go version | cut -d' ' -f3)"
  echo "open files: $(ulimit -n) (hard $(ulimit -Hn))"
  echo "centrifugo: ${cf:-none} $([ -n "$cf" ] && "$cf" version 2>/dev/null | head -1)"
} | tee "$out/machine.txt"

B="$bin/wsgate-bench"
W="--spawn --wsgate $bin/wsgate"
F="--url ws://127.0.0.1:18085/bench --spawn-bare"
C="--target centrifugo --config bench/configs/centrifugo.json --spawn --centrifugo $cf"
KEYS="--access-key AKIDWSGATEBENCH --secret-key wsgate-bench-secret-key-not-for-production"

# one NAME TARGET ARGS...: a run, its result line in $out/NAME.TARGET.rREP.json, load in the log.
one() {
  local name=$1 tgt=$2; shift 2
  if [ "$tgt" = centrifugo ] && [ -z "$cf" ]; then
    echo "skip $name on centrifugo: no Centrifugo binary (set CENTRIFUGO=/path)"; return
  fi
  local f="$out/$name.$tgt.r$rep.json"
  echo "[$(date -u +%T)] load $(cut -d' ' -f1-3 /proc/loadavg) $name $tgt r$rep"
  "$B" "$@" --duration 120s --json > "$f" 2> "$out/$name.$tgt.r$rep.log" ||
    { echo "  FAILED: $(tail -n 2 "$out/$name.$tgt.r$rep.log")"; rm -f "$f"; }
  [ -s "$f" ] && python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("  errors=%d %s" % (r["errors"], r.get("error_sample","")))' "$f"
  sleep 2   # the stopped server's sockets leave TIME_WAIT and its CPU settles
}

# rot A B C: the three targets in the order of this repetition.
rot() { local a=("$@") n=$#; for i in $(seq 0 $((n-1))); do echo "${a[$(( (i + rep - 1) % n ))]}"; done; }

for rep in $(seq "$reps"); do
  for s in $scen; do
    case $s in
    idle)
      for n in 5000 19000; do
        for t in $(rot wsgate bare centrifugo); do case $t in
          wsgate) one idle-$n wsgate idle --config bench/configs/idle.yaml $W --conns $n --rate 5000 --hold 5s ;;
          bare) one idle-$n bare idle $F --conns $n --rate 5000 --hold 5s ;;
          centrifugo) one idle-$n centrifugo idle $C --conns $n --rate 5000 --hold 5s ;;
        esac; done
      done
      for t in $(rot wsgate centrifugo); do case $t in
        wsgate) one idle-jwt-19000 wsgate idle --config bench/configs/jwt.yaml $W --jwt --conns 19000 --rate 5000 --hold 5s ;;
        centrifugo) one idle-jwt-19000 centrifugo idle $C --jwt --conns 19000 --rate 5000 --hold 5s ;;
      esac; done ;;
    churn)  # 3,000 cycles first, not measured, on every target: a warm server's cost per connect
      for t in $(rot wsgate bare centrifugo); do case $t in
        wsgate) one churn wsgate churn --config bench/configs/idle.yaml $W --count 10000 --warmup 3000 --concurrency 64 ;;
        bare) one churn bare churn $F --count 10000 --warmup 3000 --concurrency 64 ;;
        centrifugo) one churn centrifugo churn $C --count 10000 --warmup 3000 --concurrency 64 ;;
      esac; done
      for t in $(rot wsgate centrifugo); do case $t in
        wsgate) one churn-jwt wsgate churn --config bench/configs/jwt.yaml $W --jwt --count 10000 --warmup 3000 --concurrency 64 ;;
        centrifugo) one churn-jwt centrifugo churn $C --jwt --count 10000 --warmup 3000 --concurrency 64 ;;
      esac; done ;;
    broadcast)
      for t in $(rot wsgate bare centrifugo centrifugo-api); do case $t in
        wsgate) one broadcast wsgate broadcast --config bench/configs/push.yaml $W --conns 10000 --count 30 --concurrency 2 ;;
        bare) one broadcast bare broadcast $F --conns 10000 --count 30 --concurrency 2 ;;
        centrifugo) one broadcast centrifugo broadcast $C --conns 10000 --count 30 --concurrency 2 ;;
        centrifugo-api) one broadcast centrifugo-api broadcast $C --broadcast-api --conns 10000 --count 30 --concurrency 2 ;;
      esac; done ;;
    push)
      for t in $(rot wsgate bare centrifugo wsgate-batch centrifugo-batch); do case $t in
        wsgate) one push wsgate push --config bench/configs/push.yaml $W --conns 10000 --count 100000 --concurrency 4 --pipeline 32 ;;
        bare) one push bare push $F $KEYS --conns 10000 --count 100000 --concurrency 4 --pipeline 32 ;;
        centrifugo) one push centrifugo push $C --conns 10000 --count 100000 --concurrency 4 --pipeline 32 ;;
        wsgate-batch) one push wsgate-batch push --config bench/configs/push.yaml $W --conns 10000 --count 1000 --batch 100 --concurrency 4 --pipeline 4 ;;
        centrifugo-batch) one push centrifugo-batch push $C --conns 10000 --count 1000 --batch 100 --concurrency 4 --pipeline 4 ;;
      esac; done ;;
    sdk)  # one request in flight per keep-alive connection, as the AWS SDKs send
      for t in $(rot wsgate bare centrifugo); do case $t in
        wsgate) one push-sdk wsgate push --config bench/configs/push.yaml $W --conns 10000 --count 20000 --concurrency 16 --pipeline 1 ;;
        bare) one push-sdk bare push $F $KEYS --conns 10000 --count 20000 --concurrency 16 --pipeline 1 ;;
        centrifugo) one push-sdk centrifugo push $C --conns 10000 --count 20000 --concurrency 16 --pipeline 1 ;;
      esac; done ;;
    echo)  # 1,000 connections, 3,000 msgs/s offered; wsgate's $default is HTTP_PROXY to the bundled
           # backend, in a process of its own as a real backend is; bare-hop is the floor making
           # the same HTTP call per message through net/http's client (bare-server --integration),
           # bare-hop-min the same through the least an HTTP/1.1 call costs (--integration-client
           # minimal), bare the floor's own echo
      "$B" backend --listen 127.0.0.1:19001 --duration 900s 2> "$out/echo-backend.r$rep.log" & bpid=$!
      sleep 1
      for t in $(rot wsgate bare-hop-min bare-hop bare); do case $t in
        wsgate) one echo-3000 wsgate echo --config bench/configs/echo.yaml $W --conns 1000 --count 60 --rate 3000 ;;
        bare-hop) one echo-3000 bare-hop echo $F --integration http://127.0.0.1:19001/echo --conns 1000 --count 60 --rate 3000 ;;
        bare-hop-min) one echo-3000 bare-hop-min echo $F --integration http://127.0.0.1:19001/echo --integration-client minimal --conns 1000 --count 60 --rate 3000 ;;
        bare) one echo-3000 bare echo $F --conns 1000 --count 60 --rate 3000 ;;
      esac; done
      kill "$bpid"; wait "$bpid" || true ;;
    *) echo "unknown scenario $s" >&2; exit 2 ;;
    esac
  done
done
echo "results in $out; summary: scripts/bench-summary.py $out"
