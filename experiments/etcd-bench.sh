#!/usr/bin/env bash
# experiments/etcd-bench.sh -- dmutex against etcd, same machine, same run.
#
# Starts a 5-node dmutex cluster (dmutexd, default timings) and a 3-member
# etcd cluster (Debian's etcd-server, installed here if missing), both on
# loopback with their data on tmpfs, and measures lock+unlock cycles:
#   1. one client: dmutex-bench against one dmutexd; for etcd a small Python
#      client keeping ONE keep-alive HTTP connection to etcd's gRPC gateway
#      (POST /v3/lock/lock with a lease from /v3/lease/grant, then
#      /v3/lock/unlock) -- etcdctl would open a connection per invocation;
#   2. contention: one client per node (5 for dmutex, one per dmutexd; 5 for
#      etcd, spread over its 3 members) all on one lock name; aggregate
#      cycles/s = all cycles / wall time, latency percentiles over all.
# Each measurement is repeated RUNS times; medians are printed, then the
# ratios. Everything is bounded (timeouts) and stopped at exit.
#
# Usage: experiments/etcd-bench.sh [-n CYCLES] [-r RUNS] [-b BINDIR] [-c CPUS]
#   CYCLES  per measurement (default 2000), RUNS (default 5),
#   BINDIR  holding dmutexd and dmutex-bench (default: the build tree, .),
#   CPUS    run every server and client of BOTH systems under `taskset -c CPUS`
#           (e.g. 0): on a small VM, wakeups across vCPUs cost more than the
#           protocol's work, and placement is then the largest variable.
# Needs root to install etcd-server when it is missing.
set -euo pipefail

CYCLES=2000
RUNS=5
BIN=.
PIN=()
while getopts "n:r:b:c:h" o; do
    case $o in
        n) CYCLES=$OPTARG ;;
        r) RUNS=$OPTARG ;;
        b) BIN=$OPTARG ;;
        c) PIN=(taskset -c "$OPTARG") ;;
        *) sed -n '2,26p' "$0"; exit 2 ;;
    esac
done
for p in dmutexd dmutex-bench; do
    [ -x "$BIN/$p" ] || { echo "etcd-bench: $BIN/$p not built (make, or -b BINDIR)" >&2; exit 2; }
done

# ---------------------------------------------------------------- etcd install
if ! command -v etcd >/dev/null 2>&1; then
    cand=$(apt-cache policy etcd-server 2>/dev/null | sed -n 's/ *Candidate: *//p')
    if [ -z "$cand" ] || [ "$cand" = "(none)" ]; then
        apt-get update -qq
        cand=$(apt-cache policy etcd-server | sed -n 's/ *Candidate: *//p')
    fi
    [ -n "$cand" ] && [ "$cand" != "(none)" ] || { echo "etcd-bench: no etcd-server package" >&2; exit 1; }
    echo "installing etcd-server $cand"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends etcd-server >/dev/null
fi
command -v python3 >/dev/null || { echo "etcd-bench: python3 needed" >&2; exit 1; }

SHM=/dev/shm
[ -d "$SHM" ] && [ -w "$SHM" ] || SHM=${TMPDIR:-/tmp}
W=$(mktemp -d "$SHM/etcd-bench.XXXXXX")
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    sleep 0.5
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    rm -rf "$W"
}
trap cleanup EXIT
echo "work directory (tmpfs: $(stat -f -c %T "$W")): $W"

PORTS=($(python3 - <<'PY'
import socket
out, keep = [], []
while len(out) < 11:
    t = socket.socket(); t.bind(("127.0.0.1", 0)); p = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try: u.bind(("127.0.0.1", p))
    except OSError: t.close(); continue
    keep += [t, u]; out.append(p)
print(" ".join(map(str, out)))
PY
))

# ---------------------------------------------------------------- dmutex cluster
MEMBERS=""
for i in 0 1 2 3 4; do MEMBERS="${MEMBERS:+$MEMBERS,}127.0.0.1:${PORTS[$i]}"; done
for i in 0 1 2 3 4; do
    "${PIN[@]}" "$BIN/dmutexd" --id "127.0.0.1:${PORTS[$i]}" --members "$MEMBERS" --data-dir "$W/dm$i" \
        --control "$W/dm$i.sock" --log-level warning 2> "$W/dm$i.log" &
    PIDS+=($!)
done

# ---------------------------------------------------------------- etcd cluster
CLUSTER=""
for i in 0 1 2; do
    peer=${PORTS[$((5 + 2 * i))]}
    CLUSTER="${CLUSTER:+$CLUSTER,}e$i=http://127.0.0.1:$peer"
done
ETCD_CLIENTS=()
for i in 0 1 2; do
    peer=${PORTS[$((5 + 2 * i))]}
    client=${PORTS[$((6 + 2 * i))]}
    ETCD_CLIENTS+=("$client")
    ETCD_UNSUPPORTED_ARCH= "${PIN[@]}" etcd --name "e$i" --data-dir "$W/etcd$i" \
        --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
        --listen-client-urls "http://127.0.0.1:$client" --advertise-client-urls "http://127.0.0.1:$client" \
        --initial-cluster "$CLUSTER" --initial-cluster-state new --initial-cluster-token bench \
        --log-level error > "$W/etcd$i.log" 2>&1 &
    PIDS+=($!)
done

# The etcd client: one keep-alive HTTP/1.1 connection to the gRPC gateway.
cat > "$W/etcdlock.py" <<'PY'
import base64, http.client, json, sys, time
host, port, cycles, name = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4].encode()
conn = http.client.HTTPConnection(host, port, timeout=30)
def post(path, body):
    conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
    r = conn.getresponse(); data = r.read()
    if r.status != 200:
        raise RuntimeError("%s: %d %s" % (path, r.status, data[:200]))
    return json.loads(data)
lease = post("/v3/lease/grant", {"TTL": 600})["ID"]
b64 = base64.b64encode(name).decode()
lat = []; failed = 0
t0 = time.perf_counter()
for _ in range(cycles):
    s = time.perf_counter()
    try:
        key = post("/v3/lock/lock", {"name": b64, "lease": lease})["key"]
        post("/v3/lock/unlock", {"key": key})
    except Exception as e:
        failed += 1; print(e, file=sys.stderr); continue
    lat.append(time.perf_counter() - s)
secs = time.perf_counter() - t0
post("/v3/lease/revoke", {"ID": lease})
for l in lat: print("lat_us=%d" % int(l * 1e6))
print("cycles=%d failed=%d seconds=%.3f" % (len(lat), failed, secs))
PY

# Wait (bounded) for both clusters.
for i in 0 1 2 3 4; do
    for _ in $(seq 100); do
        "$BIN/dmutex-bench" --control "$W/dm$i.sock" --cycles 1 --lock warmup >/dev/null 2>&1 && break
        sleep 0.1
    done
done
for c in "${ETCD_CLIENTS[@]}"; do
    for _ in $(seq 100); do
        python3 - "$c" <<'PY' && break
import http.client, sys
try:
    c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=1)
    c.request("GET", "/health"); r = c.getresponse(); sys.exit(0 if b"true" in r.read() else 1)
except Exception:
    sys.exit(1)
PY
        sleep 0.1
    done
done
echo "cpus: ${PIN[*]:-any}"
echo "dmutex: 5 x dmutexd ($MEMBERS); etcd $(etcd --version | head -n1 | awk '{print $3}'): 3 members"

# ---------------------------------------------------------------- measurements
# Each prints "cps p50 p99" for one run.
pct() {  # pct FILE-of-lat_us-lines
    sort -n "$1" | awk '{a[NR]=$1} END { if (NR == 0) { print 0, 0; exit }
        i50 = int((NR - 1) * 0.50) + 1; i99 = int((NR - 1) * 0.99) + 1; print a[i50], a[i99] }'
}
dmutex_one() {
    out=$(timeout 300 "${PIN[@]}" "$BIN/dmutex-bench" --control "$W/dm0.sock" --cycles "$CYCLES" --lock one | tail -n1)
    echo "$out" | tr ' ' '\n' | awk -F= '$1=="cycles_per_s"{c=$2} $1=="p50_us"{p=$2} $1=="p99_us"{q=$2} END{print c, p, q}'
}
etcd_one() {
    timeout 300 "${PIN[@]}" python3 "$W/etcdlock.py" 127.0.0.1 "${ETCD_CLIENTS[0]}" "$CYCLES" one > "$W/e1.out"
    sed -n 's/^lat_us=//p' "$W/e1.out" > "$W/e1.lat"
    secs=$(sed -n 's/.*seconds=//p' "$W/e1.out"); n=$(wc -l < "$W/e1.lat")
    echo "$(awk -v n="$n" -v s="$secs" 'BEGIN{printf "%.1f", n / s}') $(pct "$W/e1.lat")"
}
per=$(( CYCLES / 5 ))
dmutex_contended() {
    t0=$(date +%s%N); pids=()
    for i in 0 1 2 3 4; do
        timeout 300 "${PIN[@]}" "$BIN/dmutex-bench" --control "$W/dm$i.sock" --cycles "$per" --lock shared \
            --latencies "$W/c$i.lat" > "$W/c$i.out" &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || true; done
    t1=$(date +%s%N)
    n=$(cat "$W"/c?.out | tr ' ' '\n' | sed -n 's/^cycles=//p' | awk '{s+=$1} END{print s+0}')
    cat "$W"/c?.lat > "$W/c.lat"
    echo "$(awk -v n="$n" -v ns=$((t1 - t0)) 'BEGIN{printf "%.1f", n / (ns / 1e9)}') $(pct "$W/c.lat")"
}
etcd_contended() {
    t0=$(date +%s%N); pids=()
    for i in 0 1 2 3 4; do
        timeout 300 "${PIN[@]}" python3 "$W/etcdlock.py" 127.0.0.1 "${ETCD_CLIENTS[$((i % 3))]}" "$per" shared > "$W/ec$i.out" &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || true; done
    t1=$(date +%s%N)
    cat "$W"/ec?.out | sed -n 's/^lat_us=//p' > "$W/ec.lat"
    n=$(wc -l < "$W/ec.lat")
    echo "$(awk -v n="$n" -v ns=$((t1 - t0)) 'BEGIN{printf "%.1f", n / (ns / 1e9)}') $(pct "$W/ec.lat")"
}

median() { sort -g | awk '{a[NR]=$1} END{ if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2] + a[NR/2+1]) / 2 }'; }

: > "$W/results"
for r in $(seq "$RUNS"); do
    for m in dmutex_one etcd_one dmutex_contended etcd_contended; do
        res=$($m)
        echo "$m $res" >> "$W/results"
        printf 'run %d %-17s cycles_per_s=%s p50_us=%s p99_us=%s\n' "$r" "$m" $res
    done
done

echo
echo "medians of $RUNS runs, $CYCLES cycles each:"
declare -A CPS
for m in dmutex_one etcd_one dmutex_contended etcd_contended; do
    c=$(awk -v m=$m '$1==m{print $2}' "$W/results" | median)
    p50=$(awk -v m=$m '$1==m{print $3}' "$W/results" | median)
    p99=$(awk -v m=$m '$1==m{print $4}' "$W/results" | median)
    CPS[$m]=$c
    printf '%-17s cycles_per_s=%s p50_us=%s p99_us=%s\n' "$m" "$c" "$p50" "$p99"
done
r1=$(awk -v a="${CPS[dmutex_one]}" -v b="${CPS[etcd_one]}" 'BEGIN{printf "%.1f", (b > 0 ? a / b : 0)}')
r5=$(awk -v a="${CPS[dmutex_contended]}" -v b="${CPS[etcd_contended]}" 'BEGIN{printf "%.1f", (b > 0 ? a / b : 0)}')
echo "ratio_one_client=$r1 ratio_contended=$r5 (dmutex cycles/s over etcd's; goal >= 10 with one client)"
