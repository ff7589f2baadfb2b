#!/usr/bin/env bash
# experiments/lock-bench.sh -- dmutex against Redlock and etcd, same machine, same run.
#
# Starts, on loopback with their data on tmpfs, a 5-node dmutex cluster
# (dmutexd, default timings) and, where installed, 5 independent Redis
# instances (redis-server, no persistence) for Redlock and a 3-member etcd
# cluster, and measures lock+unlock cycles:
#   1. one client: dmutex-bench against one dmutexd; bench/redlock-bench
#      (Redlock: SET NX PX to all 5 in parallel, majority within the
#      validity time, compare-and-delete release); for etcd a small Python
#      client keeping ONE keep-alive HTTP connection to etcd's gRPC gateway
#      (POST /v3/lock/lock with a lease from /v3/lease/grant, then
#      /v3/lock/unlock) -- etcdctl would open a connection per invocation;
#   2. contention: 5 client processes on one lock name (dmutex: one per
#      dmutexd; Redlock: each over all 5 instances; etcd: spread over its 3
#      members); aggregate cycles/s = all cycles / wall time, latency
#      percentiles over all.
# dmutex runs twice, as two clusters: with its defaults (rows dmutex_*) and
# with sticky grants, core.grant_cache (rows dmutex_cached_*: an uncontended
# unlock keeps the quorum's grants, and the next lock of the name re-uses
# them without a network round; docs/PROTOCOL.md "Sticky grants").
# The library path (row dmutex_embed_one) runs in a third, small cluster, new
# for each measurement: 4 dmutexd and, as its 5th member, the bench process
# itself (dmutex-bench --embed: libdmutex in-process, no control socket, no
# daemon of its own); one client only, as one member's library has no second.
# Each run also measures the loopback TCP round trip (dmutex-bench --rtt: a
# one-byte ping-pong between two processes), the unit the p50s are judged in.
# Each measurement is repeated RUNS times; medians are printed, then the
# ratios (each system's figures against dmutex's of the same run).
#
# Usage: experiments/lock-bench.sh [-n CYCLES] [-r RUNS] [-b BINDIR] [-c CPUS] [-s SYSTEMS]
#   CYCLES  per measurement (default 2000), RUNS (default 5),
#   BINDIR  holding dmutexd, dmutex-bench and bench/redlock-bench (default: the
#           build tree, .; `make bench` builds redlock-bench when configure
#           found hiredis),
#   CPUS    run every server and client under `taskset -c CPUS` (e.g. 0): on a
#           small VM, wakeups across vCPUs cost more than the protocol's work,
#   SYSTEMS comma-separated subset of dmutex,dmutex_cached,dmutex_embed,redlock,etcd
#           (default: all five; one that is not installed is skipped with a note).
# Installing: redis-server and libhiredis-dev (then re-run configure), etcd-server.
set -euo pipefail

CYCLES=2000
RUNS=5
BIN=.
PIN=()
SYSTEMS=dmutex,dmutex_cached,dmutex_embed,redlock,etcd
while getopts "n:r:b:c:s:h" o; do
    case $o in
        n) CYCLES=$OPTARG ;;
        r) RUNS=$OPTARG ;;
        b) BIN=$OPTARG ;;
        c) PIN=(taskset -c "$OPTARG") ;;
        s) SYSTEMS=$OPTARG ;;
        *) sed -n '2,40p' "$0"; exit 2 ;;
    esac
done
for p in dmutexd dmutex-bench; do
    [ -x "$BIN/$p" ] || { echo "lock-bench: $BIN/$p not built (make, or -b BINDIR)" >&2; exit 2; }
done
want() { [[ ",$SYSTEMS," == *",$1,"* ]]; }
USE=(dmutex)
want dmutex_cached && USE+=(dmutex_cached)
want dmutex_embed && USE+=(dmutex_embed)
if want redlock; then
    if ! command -v redis-server >/dev/null 2>&1; then
        echo "lock-bench: redis-server not installed: Redlock skipped"
    elif [ ! -x "$BIN/bench/redlock-bench" ]; then
        echo "lock-bench: $BIN/bench/redlock-bench not built (libhiredis-dev, configure, make bench): Redlock skipped"
    else
        USE+=(redlock)
    fi
fi
if want etcd; then
    if ! command -v etcd >/dev/null 2>&1 || ! command -v python3 >/dev/null 2>&1; then
        echo "lock-bench: etcd (etcd-server) or python3 not installed: etcd skipped"
    else
        USE+=(etcd)
    fi
fi
has() { [[ " ${USE[*]} " == *" $1 "* ]]; }

SHM=/dev/shm
[ -d "$SHM" ] && [ -w "$SHM" ] || SHM=${TMPDIR:-/tmp}
W=$(mktemp -d "$SHM/lock-bench.XXXXXX")
PIDS=()
cleanup() {
    [ -f "$W/embed.pids" ] && PIDS+=($(cat "$W/embed.pids"))
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    sleep 0.5
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    rm -rf "$W"
}
trap cleanup EXIT
echo "work directory (tmpfs: $(stat -f -c %T "$W")): $W"

# free_ports N: N loopback ports free for both TCP and UDP.
free_ports() {
    python3 - "$1" <<'PY'
import socket, sys
out, keep = [], []
while len(out) < int(sys.argv[1]):
    t = socket.socket(); t.bind(("127.0.0.1", 0)); p = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try: u.bind(("127.0.0.1", p))
    except OSError: t.close(); continue
    keep += [t, u]; out.append(p)
print(" ".join(map(str, out)))
PY
}
# 5 dmutex, 6 etcd, 5 redis, 5 dmutex with grant_cache.
PORTS=($(free_ports 21))

# ---------------------------------------------------------------- dmutex clusters
# members PORT...: the member list of a loopback cluster on these ports.
members() { local p csv=""; for p in "$@"; do csv="${csv:+$csv,}127.0.0.1:$p"; done; echo "$csv"; }
# start_dmutexd PREFIX MEMBERS COUNT [DMUTEXD-ARGS...]: the first COUNT members
# of MEMBERS as daemons of a new cluster (--bootstrap), member i with data in
# PREFIXi, control socket PREFIXi.sock and log PREFIXi.log; their pids in
# STARTED.
start_dmutexd() {
    local prefix=$1 list=$2 count=$3 addrs i
    shift 3
    IFS=, read -ra addrs <<< "$list"
    STARTED=()
    for ((i = 0; i < count; i++)); do
        "${PIN[@]}" "$BIN/dmutexd" --id "${addrs[$i]}" --members "$list" --data-dir "$prefix$i" \
            --control "$prefix$i.sock" --bootstrap --log-level warning "$@" 2> "$prefix$i.log" &
        STARTED+=($!)
    done
}

MEMBERS=$(members "${PORTS[@]:0:5}")
start_dmutexd "$W/dm" "$MEMBERS" 5
PIDS+=("${STARTED[@]}")
if has dmutex_cached; then
    CMEMBERS=$(members "${PORTS[@]:16:5}")
    start_dmutexd "$W/dmc" "$CMEMBERS" 5 --set grant_cache=true
    PIDS+=("${STARTED[@]}")
fi

# ---------------------------------------------------------------- Redis instances
REDIS=""
if has redlock; then
    for i in 0 1 2 3 4; do
        port=${PORTS[$((11 + i))]}
        REDIS="${REDIS:+$REDIS,}127.0.0.1:$port"
        "${PIN[@]}" redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
            --dir "$W" --logfile "$W/redis$i.log" --daemonize no &
        PIDS+=($!)
    done
fi

# ---------------------------------------------------------------- etcd cluster
ETCD_CLIENTS=()
if has etcd; then
    CLUSTER=""
    for i in 0 1 2; do
        CLUSTER="${CLUSTER:+$CLUSTER,}e$i=http://127.0.0.1:${PORTS[$((5 + 2 * i))]}"
    done
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
fi

# Wait (bounded) for every server.
DM_SOCKS=(dm)
has dmutex_cached && DM_SOCKS+=(dmc)
for d in "${DM_SOCKS[@]}"; do
    for i in 0 1 2 3 4; do
        for _ in $(seq 100); do
            "$BIN/dmutex-bench" --control "$W/$d$i.sock" --cycles 1 --lock warmup --timeout 1000 >/dev/null 2>&1 && break
            sleep 0.1
        done
    done
done
if has redlock; then
    for _ in $(seq 100); do
        "$BIN/bench/redlock-bench" --servers "$REDIS" --cycles 1 --lock warmup >/dev/null 2>&1 && break
        sleep 0.1
    done
fi
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
echo "dmutex: 5 x dmutexd ($MEMBERS)"
has dmutex_cached && echo "dmutex_cached: 5 x dmutexd --set grant_cache=true ($CMEMBERS)"
has dmutex_embed && echo "dmutex_embed: per measurement, a new cluster of 4 x dmutexd + dmutex-bench --embed as the 5th member"
has redlock && echo "redlock: 5 x $(redis-server --version | awk '{print $1, $2, $3}') ($REDIS), ttl 10 s"
has etcd && echo "etcd $(etcd --version | head -n1 | awk '{print $3}'): 3 members"

# ---------------------------------------------------------------- measurements
# Each prints "cps p50 p99" for one run.
pct() {  # pct FILE-of-lat_us-lines
    sort -n "$1" | awk '{a[NR]=$1} END { if (NR == 0) { print 0, 0; exit }
        i50 = int((NR - 1) * 0.50) + 1; i99 = int((NR - 1) * 0.99) + 1; print a[i50], a[i99] }'
}
fields() { tail -n1 | tr ' ' '\n' | awk -F= '$1=="cycles_per_s"{c=$2} $1=="p50_us"{p=$2} $1=="p99_us"{q=$2} END{print c, p, q}'; }
rtt() {
    "${PIN[@]}" "$BIN/dmutex-bench" --rtt 20000 | tr ' ' '\n' | sed -n 's/^rtt_p50_us=//p'
}
dmutex_one() {
    timeout 300 "${PIN[@]}" "$BIN/dmutex-bench" --control "$W/dm0.sock" --cycles "$CYCLES" --lock one | fields
}
dmutex_cached_one() {
    timeout 300 "${PIN[@]}" "$BIN/dmutex-bench" --control "$W/dmc0.sock" --cycles "$CYCLES" --lock one | fields
}
# A new cluster per measurement: 4 daemons and, as the 5th member, the bench
# process, all first starts (bootstrap: grant at once). A restarted member
# would grant nothing for a lease ("Starting"), and the bench process stops
# after each measurement; the daemons stop with it.
dmutex_embed_one() {
    local d ports list pids i
    d=$(mktemp -d "$W/dme.XXXXXX")
    ports=($(free_ports 5))
    list=$(members "${ports[@]}")
    start_dmutexd "$d/" "$list" 4
    pids=("${STARTED[@]}")
    echo "${pids[*]}" >> "$W/embed.pids"
    for i in 0 1 2 3; do
        for _ in $(seq 100); do [ -S "$d/$i.sock" ] && break; sleep 0.05; done
    done
    printf '[dmutex]\ndata_dir=%s\nbootstrap=true\n' "$d/4" > "$d/embed.conf"
    timeout 300 "${PIN[@]}" "$BIN/dmutex-bench" --embed "127.0.0.1:${ports[4]}" --members "$list" \
        --config "$d/embed.conf" --cycles "$CYCLES" --lock one 2>> "$W/dme.log" | fields
    kill "${pids[@]}" 2>/dev/null || true
    for i in "${pids[@]}"; do wait "$i" 2>/dev/null || true; done
    rm -rf "$d"
}
redlock_one() {
    timeout 300 "${PIN[@]}" "$BIN/bench/redlock-bench" --servers "$REDIS" --cycles "$CYCLES" --lock one | fields
}
etcd_one() {
    timeout 300 "${PIN[@]}" python3 "$W/etcdlock.py" 127.0.0.1 "${ETCD_CLIENTS[0]}" "$CYCLES" one > "$W/e1.out"
    sed -n 's/^lat_us=//p' "$W/e1.out" > "$W/e1.lat"
    secs=$(sed -n 's/.*seconds=//p' "$W/e1.out"); n=$(wc -l < "$W/e1.lat")
    echo "$(awk -v n="$n" -v s="$secs" 'BEGIN{printf "%.1f", n / s}') $(pct "$W/e1.lat")"
}
per=$(( CYCLES / 5 ))
# contended FUNCTION: runs "FUNCTION i" for i = 0..4 at once, each writing latencies to $W/c$i.lat.
contended() {
    t0=$(date +%s%N); pids=()
    for i in 0 1 2 3 4; do
        "$@" "$i" > "$W/c$i.out" 2>&1 &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || true; done
    t1=$(date +%s%N)
    cat "$W"/c?.lat > "$W/c.lat"
    n=$(wc -l < "$W/c.lat")
    echo "$(awk -v n="$n" -v ns=$((t1 - t0)) 'BEGIN{printf "%.1f", n / (ns / 1e9)}') $(pct "$W/c.lat")"
    rm -f "$W"/c?.lat
}
dmutex_client() {
    timeout 300 "${PIN[@]}" "$BIN/dmutex-bench" --control "$W/dm$1.sock" --cycles "$per" --lock shared --latencies "$W/c$1.lat"
}
dmutex_cached_client() {
    timeout 300 "${PIN[@]}" "$BIN/dmutex-bench" --control "$W/dmc$1.sock" --cycles "$per" --lock shared --latencies "$W/c$1.lat"
}
redlock_client() {
    timeout 300 "${PIN[@]}" "$BIN/bench/redlock-bench" --servers "$REDIS" --cycles "$per" --lock shared --latencies "$W/c$1.lat"
}
etcd_client() {
    timeout 300 "${PIN[@]}" python3 "$W/etcdlock.py" 127.0.0.1 "${ETCD_CLIENTS[$(($1 % 3))]}" "$per" shared > "$W/ec$1.out"
    sed -n 's/^lat_us=//p' "$W/ec$1.out" > "$W/c$1.lat"
}
dmutex_contended() { contended dmutex_client; }
dmutex_cached_contended() { contended dmutex_cached_client; }
redlock_contended() { contended redlock_client; }
etcd_contended() { contended etcd_client; }

median() { sort -g | awk '{a[NR]=$1} END{ if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2] + a[NR/2+1]) / 2 }'; }

MEAS=()
for s in "${USE[@]}"; do MEAS+=("${s}_one"); done
for s in "${USE[@]}"; do [ "$s" = dmutex_embed ] || MEAS+=("${s}_contended"); done
: > "$W/results"
for r in $(seq "$RUNS"); do
    t=$(rtt)
    echo "rtt $t 0 0" >> "$W/results"
    printf 'run %d %-17s rtt_p50_us=%s\n' "$r" loopback_tcp "$t"
    for m in "${MEAS[@]}"; do
        res=$($m)
        echo "$m $res" >> "$W/results"
        printf 'run %d %-24s cycles_per_s=%s p50_us=%s p99_us=%s\n' "$r" "$m" $res
    done
done

echo
echo "medians of $RUNS runs, $CYCLES cycles each:"
declare -A CPS P50
RTT=$(awk '$1=="rtt"{print $2}' "$W/results" | median)
echo "loopback_tcp_rtt_p50_us=$RTT"
for m in "${MEAS[@]}"; do
    c=$(awk -v m=$m '$1==m{print $2}' "$W/results" | median)
    p50=$(awk -v m=$m '$1==m{print $3}' "$W/results" | median)
    p99=$(awk -v m=$m '$1==m{print $4}' "$W/results" | median)
    CPS[$m]=$c; P50[$m]=$p50
    printf '%-24s cycles_per_s=%s p50_us=%s p99_us=%s p50_rtts=%s\n' "$m" "$c" "$p50" "$p99" \
        "$(awk -v p="$p50" -v r="$RTT" 'BEGIN{printf "%.1f", (r > 0 ? p / r : 0)}')"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", (b > 0 ? a / b : 0)}'; }
DMS=(dmutex)
has dmutex_cached && DMS+=(dmutex_cached)
for d in "${DMS[@]}"; do
    for s in "${USE[@]}"; do
        [[ "$s" == dmutex* ]] && continue
        echo "${d}_over_${s}: one_client=$(ratio "${CPS[${d}_one]}" "${CPS[${s}_one]}")" \
             "contended=$(ratio "${CPS[${d}_contended]}" "${CPS[${s}_contended]}") (cycles/s)"
    done
    echo "${d}_contended_over_one=$(ratio "${CPS[${d}_contended]}" "${CPS[${d}_one]}") (cycles/s)"
done
if has dmutex_cached; then
    echo "dmutex_cached_over_dmutex: one_client=$(ratio "${CPS[dmutex_cached_one]}" "${CPS[dmutex_one]}")" \
         "contended=$(ratio "${CPS[dmutex_cached_contended]}" "${CPS[dmutex_contended]}") (cycles/s)"
fi
if has dmutex_embed; then
    for s in "${USE[@]}"; do
        [[ "$s" == dmutex* ]] && continue
        echo "dmutex_embed_over_${s}: one_client=$(ratio "${CPS[dmutex_embed_one]}" "${CPS[${s}_one]}") (cycles/s)"
    done
    echo "dmutex_embed_over_dmutex: one_client=$(ratio "${CPS[dmutex_embed_one]}" "${CPS[dmutex_one]}") (cycles/s)"
fi
echo "goals (issue 17): dmutex_over_redlock one_client >= 2; dmutex_one p50_rtts <= 4; dmutex_contended no lower than before the change measured"
echo "  (with sticky grants: the same goals for the dmutex_cached rows)"
