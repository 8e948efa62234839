#!/usr/bin/env bash
# Scale-out measured as scale-out, in miniature: wsgate nodes, redis-server and the load generator
# each run in a network namespace of their own, wired by a bridge that lives in a namespace of its
# own (the root namespace is not touched; the addresses 10.213.0.0/24 exist only inside them), each
# pinned to a CPU set with taskset, and each node capped to a share of a core with a cpu cgroup so
# that adding a node adds CPU. It reports push throughput (POST /@connections/{id}, SigV4-signed,
# counted at the client sockets) for each node count and the per-node efficiency
# T(k) / (k x T(1)).
#
#   scripts/scaleout-netns.sh [-n "1 2 3"] [-c CONNS] [-p PUSHES] [-q QUOTA] [-x] [-P SECS] [-o DIR]
#
#   -n  node counts to measure (default "1 2 3")
#   -c  WebSocket connections in all, spread evenly over the nodes (default 3000)
#   -p  pushes in all per measurement (default 60000)
#   -q  CPU share of each node in % of one core (default 30: three nodes fit in one core)
#   -x  every push goes to the next node, not the one holding the socket (crosses Redis)
#   -P  also take a CPU profile of every node for SECS seconds from 1 s into the posting phase
#       (admin listener with pprof on 127.0.0.1:18090 inside each node's namespace), written
#       to cpu-K-nodes-I.pprof beside the results (go tool pprof -top FILE)
#   -o  directory for the result lines (default: a temporary one)
#
# Needs root, ip (iproute2), taskset, redis-server and python3; builds wsgate and wsgate-bench from
# this checkout. Every process it starts is stopped by its PID, every namespace and cgroup it
# made is removed, on exit or interrupt; one measurement is bounded by the generator's --duration.
#
# CPU sets on a machine with C CPUs: the generator and redis-server on CPU 0, the nodes on the
# other CPUs (all of them on CPU 1 when C = 2), each node capped at -q % of a core through the
# cgroup v1 cpu controller (cpu.cfs_quota_us) when it is mounted; without it the nodes share
# their CPUs uncapped and the script says so.
set -euo pipefail
cd "$(dirname "$0")/.."

nodes_list="1 2 3"; conns=3000; pushes=60000; quota=30; cross=0; out=""; profile=0
while getopts "n:c:p:q:xP:o:h" opt; do
  case $opt in
    n) nodes_list=$OPTARG ;; c) conns=$OPTARG ;; p) pushes=$OPTARG ;; q) quota=$OPTARG ;;
    x) cross=1 ;; P) profile=$OPTARG ;; o) out=$OPTARG ;;
    *) sed -n '2,23p' "$0"; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "scaleout-netns: needs root (network namespaces, cgroups)" >&2; exit 1; }
for t in ip taskset redis-server python3 go; do
  command -v $t >/dev/null || { echo "scaleout-netns: $t not found" >&2; exit 1; }
done

P=wsb                                   # prefix of every namespace, link and cgroup made here
NET=10.213.0
CGROOT=/sys/fs/cgroup/cpu
work=$(mktemp -d /tmp/wsb-scaleout.XXXXXX)
out=${out:-$work/results}
mkdir -p "$out"
pids=()
nss=()
cgs=()

cleanup() {
  set +e
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null
  done
  for cg in "${cgs[@]}"; do rmdir "$cg" 2>/dev/null; done
  for ns in "${nss[@]}"; do ip netns del "$ns" 2>/dev/null; done
  rm -rf "$work/bin"
  # the logs go with the run unless a generator failed or the results live among them
  if [ "${keep:-0}" = 0 ] && [ "$out" != "$work/results" ]; then rm -rf "$work"; else echo "logs in $work" >&2; fi
}
trap cleanup EXIT INT TERM

ncpu=$(nproc)
node_cpus=1; [ "$ncpu" -gt 2 ] && node_cpus="1-$((ncpu-1))"
capped=0
if [ -w "$CGROOT" ] && [ -f "$CGROOT/cpu.cfs_quota_us" ]; then capped=1; fi

echo "== building wsgate and wsgate-bench"
mkdir -p "$work/bin"
go build -o "$work/bin/" ./cmd/wsgate ./cmd/wsgate-bench

echo "== namespaces: $P-sw (bridge), $P-redis, $P-n1..3, $P-gen on $NET.0/24"
ip netns add $P-sw; nss+=($P-sw)
ip -n $P-sw link add br0 type bridge
ip -n $P-sw link set br0 up
ip -n $P-sw link set lo up
addns() { # name address
  ip netns add "$1"; nss+=("$1")
  ip -n $P-sw link add "v-$1" type veth peer name eth0 netns "$1"
  ip -n $P-sw link set "v-$1" master br0 up
  ip -n "$1" addr add "$2/24" dev eth0
  ip -n "$1" link set eth0 up
  ip -n "$1" link set lo up
}
addns $P-redis $NET.2
addns $P-gen $NET.100
for i in 1 2 3; do addns $P-n$i $NET.1$i; done

echo "== redis-server on $NET.2:6379 (CPU 0)"
ip netns exec $P-redis taskset -c 0 redis-server --bind $NET.2 --port 6379 --save "" --appendonly no \
  --protected-mode no --loglevel warning > "$work/redis.log" 2>&1 &
pids+=($!)

waitport() { # host port
  ip netns exec $P-gen timeout 20 bash -c "until (echo > /dev/tcp/$1/$2) 2>/dev/null; do sleep 0.1; done" ||
    { echo "scaleout-netns: nothing listens on $1:$2" >&2; exit 1; }
}
waitport $NET.2 6379

cat > "$work/node.yaml" <<EOF
listen: \${WSB_LISTEN}
stage: bench
routeSelectionExpression: \$request.body.action
routes:
  whoami: { integration: whoami, routeResponse: true }
integrations:
  whoami:
    type: MOCK
    responses:
      \$default:
        templateSelectionExpression: \\\$default
        templates:
          \$default: '{"connectionId":"\$context.connectionId"}'
management:
  credentials:
    - { accessKeyId: AKIDWSGATEBENCH, secretAccessKey: wsgate-bench-secret-key-not-for-production }
store: { type: redis, url: "redis://$NET.2:6379/0" }
limits: { sendQueueBytes: 4MB }
log: { level: warn }
EOF
# Each namespace has a loopback of its own, so every node's admin listener is 127.0.0.1:18090.
if [ "$profile" != 0 ]; then echo "admin: { listen: 127.0.0.1:18090, pprof: true }" >> "$work/node.yaml"; fi

{
  echo "machine: $(nproc) CPUs, $(uname -r); $(uptime)"
  echo "generator and redis-server on CPU 0; nodes on CPU $node_cpus, each capped at ${quota}% of a core: $([ $capped = 1 ] && echo yes || echo "NO (no writable cgroup v1 cpu controller)")"
  echo "connections $conns in all, pushes $pushes per measurement, $([ $cross = 1 ] && echo "each push sent to the NEXT node" || echo "each push sent to the node holding the socket")"
} | tee "$out/setup.txt"

measure() { # k
  local k=$1 node_pids=() gen_pids=()
  ip netns exec $P-redis redis-cli -h $NET.2 flushall > /dev/null 2>&1 || true
  for i in $(seq "$k"); do
    WSB_LISTEN=$NET.1$i:18080 ip netns exec $P-n$i taskset -c "$node_cpus" \
      "$work/bin/wsgate" serve --config "$work/node.yaml" > "$work/node$i.log" 2>&1 &
    local pid=$!
    pids+=($pid); node_pids+=($pid)
    if [ $capped = 1 ]; then
      local cg=$CGROOT/$P-n$i
      mkdir -p "$cg"; cgs+=("$cg")
      echo 100000 > "$cg/cpu.cfs_period_us"
      echo $((quota * 1000)) > "$cg/cpu.cfs_quota_us"
      echo "$pid" > "$cg/cgroup.procs"
    fi
  done
  for i in $(seq "$k"); do waitport $NET.1$i 18080; done
  local start=$(( $(date +%s) + 15 + conns / 1000 ))   # after every generator has connected
  for i in $(seq "$k"); do
    local mg=$NET.1$i
    [ $cross = 1 ] && mg=$NET.1$(( i % k + 1 ))
    ip netns exec $P-gen taskset -c 0 bash -c "ulimit -n 20000; exec \"$work/bin/wsgate-bench\" push \
      --url ws://$NET.1$i:18080/bench --mgmt-url http://$mg:18080/bench \
      --access-key AKIDWSGATEBENCH --secret-key wsgate-bench-secret-key-not-for-production \
      --conns $((conns / k)) --count $((pushes / k)) --concurrency 2 --pipeline 16 \
      --gateway-pid ${node_pids[$((i-1))]} --start-at $start --duration 120s --json" \
      > "$out/push-$k-nodes-$i.json" 2> "$work/gen-$k-$i.log" &
    gen_pids+=($!)
  done
  if [ "$profile" != 0 ]; then
    for i in $(seq "$k"); do
      ip netns exec $P-n$i bash -c "sleep \$(( $start + 1 - \$(date +%s) )); exec curl -sS -m $((profile + 30)) \
        -o '$out/cpu-$k-nodes-$i.pprof' 'http://127.0.0.1:18090/debug/pprof/profile?seconds=$profile'" \
        > "$work/prof-$k-$i.log" 2>&1 &
      gen_pids+=($!)
    done
  fi
  local failed=0
  for pid in "${gen_pids[@]}"; do wait "$pid" || failed=1; done
  [ $failed = 0 ] || { keep=1; echo "scaleout-netns: a generator failed; see $work/gen-$k-*.log" >&2; tail -n 3 "$work"/gen-"$k"-*.log >&2; }
  for pid in "${node_pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${node_pids[@]}"; do
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  echo "load after $k node(s): $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/setup.txt"
}

for k in $nodes_list; do
  echo "== $k node(s)"
  measure "$k"
done

python3 - "$out" $nodes_list <<'EOF'
import json, glob, sys, os
out, ks = sys.argv[1], [int(k) for k in sys.argv[2:]]
rows = {}
for k in ks:
    rs = [json.loads(open(f).read()) for f in sorted(glob.glob(os.path.join(out, f"push-{k}-nodes-*.json"))) if os.path.getsize(f)]
    if len(rs) != k:
        print(f"{k} node(s): {len(rs)} of {k} generators reported"); continue
    rate = sum(r["messages_per_s"] for r in rs)
    cpu = sum(r.get("gateway_cpu_s", 0) for r in rs)
    recv = sum(r["received"] for r in rs)
    errs = sum(r["errors"] for r in rs)
    load = rs[0]["load_start"]
    rows[k] = (rate, cpu, recv, errs, load)
print("| nodes | pushes/s delivered | node CPU s (all nodes) | µs CPU/push | delivered | errors | efficiency T(k)/(k·T(1)) | load at start |")
print("|---:|---:|---:|---:|---:|---:|---:|---|")
base = rows.get(1, (0,))[0]
for k, (rate, cpu, recv, errs, load) in sorted(rows.items()):
    eff = f"{rate / (k * base):.2f}" if base else "-"
    us = f"{cpu / recv * 1e6:.1f}" if recv else "-"
    print(f"| {k} | {rate:,.0f} | {cpu:.2f} | {us} | {recv:,} | {errs} | {eff} | {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} |")
EOF
echo "results: $out"
