#!/bin/sh
# tests/net-partition.sh -- real partitions: five dmutexd, each in a network
# namespace of its own, on a Linux bridge in a sixth (the hub), with a client
# on every node locking one name throughout, under a seeded nemesis schedule
# in Jepsen's shapes: halves (2|3), isolate the tree's root, bridge (two
# sides that share one node), a one-way cut, kill -9 and restart with the
# data directory, SIGSTOP/SIGCONT. Then everything heals. Checked on a shared
# log outside the namespaces: no two critical sections overlap (file order
# and CLOCK_REALTIME, which namespaces share), fencing tokens strictly
# increase, every node is granted again after the heal, every daemon runs.
#
# Partitions are blackhole routes inside the nodes' namespaces (iproute2
# only: this kernel has no tc actions, and nftables is not needed): a cut
# A|B adds, in each of A's namespaces, a blackhole route to each address of
# B and the reverse; a one-way cut adds them on A's side only, so A's
# packets to B are dropped while B's reach A (B's TCP handshakes to A then
# fail too, its UDP arrives). Nothing is created in the caller's namespace:
# the veth pairs, the bridge and the routes live in namespaces named
# dmpart-PID-*, deleted on every exit (trap on EXIT, INT, TERM); a run
# killed with SIGKILL leaves them, and the next run deletes them (their PID
# no longer runs).
#
# Environment:
#   DM_PARTITION_SEED=N      replay a schedule (printed at the start)
#   DM_PARTITION_DURATION=S  soak: draw steps until S seconds of nemesis have
#                            passed (default: each of the six shapes once,
#                            about a minute in all)
#   DM_PARTITION_UNSAFE=1    run the cluster with `policy = memberlist`,
#                            which forms quorums over each node's own view:
#                            partitions then give overlapping holders, and
#                            the check must fail (a check that can fire)
# Needs root and `ip netns`; otherwise exits 77 saying why.
. "$(dirname "$0")/net-lib.sh"

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "network namespaces need root"
command -v ip >/dev/null 2>&1 || skip "ip (iproute2) not installed"
command -v timeout >/dev/null 2>&1 || skip "timeout (coreutils) not installed"

NS=dmpart-$$
NSLIST=""
CLIENTS=""

# Namespaces of earlier runs that were killed (SIGKILL: no trap ran): their
# PID no longer runs. Their processes are ours (started by this test).
for old in $(ip netns list 2>/dev/null | sed -n 's/^\(dmpart-[0-9]*-[h0-9]*\).*/\1/p'); do
    pid=${old#dmpart-}; pid=${pid%%-*}
    kill -0 "$pid" 2>/dev/null && continue
    for p in $(ip netns pids "$old" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
    ip netns del "$old" 2>/dev/null && echo "deleted $old, left by a killed run"
done

ns_cleanup() {
    touch "$T/stop" 2>/dev/null
    for p in $PIDS; do kill -CONT "$p" 2>/dev/null; kill -9 "$p" 2>/dev/null; done
    # Clients stop at the stop file; their dmutexctl ends with its daemon.
    k=0
    for c in $CLIENTS; do
        while kill -0 "$c" 2>/dev/null && [ $k -lt 50 ]; do sleep 0.1; k=$((k + 1)); done
        kill -9 "$c" 2>/dev/null
    done
    for n in $NSLIST; do
        for p in $(ip netns pids "$n" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
        ip netns del "$n" 2>/dev/null
    done
    NSLIST=""
}
trap 'rc=$?; ns_cleanup; cleanup; exit $rc' EXIT
# A watchdog for a SIGKILL of this script: it deletes the namespaces (and so
# stops their daemons) within a second. After a normal exit it finds none.
( trap '' INT TERM HUP
  while kill -0 $$ 2>/dev/null; do sleep 1; done
  for n in h 1 2 3 4 5; do
      for p in $(ip netns pids "$NS-$n" 2>/dev/null); do kill -9 "$p"; done
      ip netns del "$NS-$n"
  done ) > /dev/null 2>&1 &
trap 'exit 130' INT
trap 'exit 143' TERM

# A private /24 that nothing here uses (checked against every address and
# route of the caller's namespace; the nodes' namespaces are private anyway).
NET=$(python3 - "$$" "$(ip -4 -o addr show 2>/dev/null)" "$(ip -4 route show table all 2>/dev/null)" <<'PY'
import ipaddress, re, sys
pid = int(sys.argv[1])
used = []
for tok in re.findall(r'\b(\d+\.\d+\.\d+\.\d+(?:/\d+)?)', sys.argv[2] + "\n" + sys.argv[3]):
    try:
        n = ipaddress.ip_network(tok, strict=False)
    except ValueError:
        continue
    if n.prefixlen > 0:
        used.append(n)
for k in range(4096):
    v = (pid + k * 7919) % 60000
    cand = ipaddress.ip_network("10.%d.%d.0/24" % (200 + v // 250 % 50, v % 250 + 1))
    if not any(cand.overlaps(u) for u in used):
        print(str(cand.network_address).rsplit(".", 1)[0])
        break
PY
)
[ -n "$NET" ] || skip "no unused 10.x.y.0/24 found"

mkns() { ip netns add "$1" || return 1; NSLIST="$NSLIST $1"; }
mkns "$NS-h" || skip "cannot create a network namespace (ip netns add failed)"
ip -n "$NS-h" link add br0 type bridge && ip -n "$NS-h" link set br0 up \
    || skip "cannot create a bridge in a namespace"
ip -n "$NS-h" link set lo up
NET_ADDRS=""
for i in 1 2 3 4 5; do
    mkns "$NS-$i" || fail "ip netns add $NS-$i"
    ip -n "$NS-h" link add "v$i" type veth peer name eth0 netns "$NS-$i" || skip "cannot create a veth pair"
    ip -n "$NS-h" link set "v$i" master br0 up || fail "veth v$i on the bridge"
    ip -n "$NS-$i" addr add "$NET.$i/24" dev eth0 || fail "address $NET.$i"
    ip -n "$NS-$i" link set eth0 up && ip -n "$NS-$i" link set lo up || fail "links of $NS-$i"
    eval "WRAP$i='ip netns exec $NS-$i'"
    NET_ADDRS="$NET_ADDRS $NET.$i:7946"
done
ok "namespaces $NS-{h,1..5}, bridge br0, nodes $NET.1-5"

SEED=${DM_PARTITION_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
echo "seed $SEED (replay: DM_PARTITION_SEED=$SEED $0)"
DURATION=${DM_PARTITION_DURATION:-0}
case "$SEED$DURATION" in *[!0-9]*) fail "DM_PARTITION_SEED and DM_PARTITION_DURATION are whole numbers" ;; esac

head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$T/key"
if [ -n "${DM_PARTITION_UNSAFE:-}" ]; then
    echo "UNSAFE: policy = memberlist; the check below must fail"
    cluster_init 5 "policy = memberlist"
else
    cluster_init 5
fi
for i in 1 2 3 4 5; do start_node $i --key-file "$T/key"; done
for i in 1 2 3 4 5; do wait_alive $i 5 15; done
ok "five daemons, each in its namespace, see each other"

# The root of the tree of lock P (its placement depends on the name): every
# quorum a node forms with nobody suspected contains the root, and in a tree
# of five only the root is in all of them: the intersection of the five
# nodes' `quorum` lines for P.
ROOT=$(for i in 1 2 3 4 5; do ctl $i status P | sed -n 's/^quorum //p' | tr ' ' '\n' | sort -u; done \
       | sort | uniq -c | awk '$1 == 5 { print $2 }')
[ "$(echo "$ROOT" | wc -w)" -eq 1 ] || fail "no single member in every quorum of P: '$ROOT'"
ROOTI=${ROOT%:*}; ROOTI=${ROOTI##*.}
ok "root of P's tree: node $ROOTI ($ROOT), from the quorum lines of STATUS P"

# The critical section: start and end lines on the shared log; a SIGTERM
# from dmutexctl (lock lost, daemon gone) ends it with its end line.
cat > "$T/cs.sh" <<'EOF'
#!/bin/sh
log() { echo "$1 $DMUTEX_FENCING_TOKEN $(date +%s%N) $WHO" >> "$CS_LOG"; }
trap 'log end; exit 143' TERM
log start
sleep 0.03
trap '' TERM
log end
EOF
chmod +x "$T/cs.sh"
: > "$T/cs.log"
STOP_BY=$(( $(date +%s) + DURATION + 120 ))
client() {
    while [ ! -e "$T/stop" ] && kill -0 $$ 2>/dev/null && [ "$(date +%s)" -lt $STOP_BY ]; do
        # --kill-after 1: cs.sh writes its "end" deaf to SIGTERM, and the
        # default grace (half the lost margin, 50 ms at the 1 s lease) could
        # SIGKILL it first, leaving a section the log check takes for open.
        WHO=$1 CS_LOG=$T/cs.log timeout 20 "$DMUTEXCTL" --control "$T/c$1.sock" lock P --timeout 3 \
            --kill-after 1 -- "$T/cs.sh" >> "$T/client.$1" 2>&1
        echo "exit $?" >> "$T/client.$1"
        sleep 0.02
    done
}
for i in 1 2 3 4 5; do client $i & CLIENTS="$CLIENTS $!"; done

# cut A B [oneway]: blackhole routes from the nodes of A to those of B (and back).
cut() {
    for a in $1; do for b in $2; do
        ip -n "$NS-$a" route add blackhole "$NET.$b/32" 2>/dev/null
        [ "${3:-}" = oneway ] || ip -n "$NS-$b" route add blackhole "$NET.$a/32" 2>/dev/null
    done; done
}
heal() {
    for i in 1 2 3 4 5; do
        ip -n "$NS-$i" route show type blackhole | while read -r _ dst _; do
            ip -n "$NS-$i" route del blackhole "$dst"
        done
    done
}

# The schedule, from the seed: one line per step, "SHAPE ARGS HOLD_MS GAP_MS".
python3 - "$SEED" "$DURATION" "$ROOTI" > "$T/schedule" <<'PY'
import random, sys
seed, duration, root = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
r = random.Random(seed)
shapes = ["halves", "isolate-root", "bridge", "oneway", "kill9", "stop"]
def step(shape):
    n = [1, 2, 3, 4, 5]; r.shuffle(n)
    hold, gap = r.randrange(2500, 3600, 100), r.randrange(800, 2000, 100)
    args = {"halves": "%d,%d|%d,%d,%d" % tuple(n),
            "isolate-root": "%d" % root,
            "bridge": "%d,%d|%d,%d" % tuple(n[:4]),   # n[4] is in both
            "oneway": "%d,%d>%d,%d,%d" % tuple(n),
            "kill9": "%d" % n[0], "stop": "%d" % n[0]}[shape]
    return "%s %s %d %d" % (shape, args, hold, gap), hold + gap
if duration == 0:
    order = shapes[:]; r.shuffle(order)
    for s in order: print(step(s)[0])
else:
    t = 0
    while t < duration * 1000:
        line, ms = step(r.choice(shapes)); print(line); t += ms
PY
[ -s "$T/schedule" ] || fail "no schedule"

msleep() { sleep "$(awk -v m="$1" 'BEGIN { printf "%.1f", m / 1000 }')"; }
lines() { wc -l < "$T/cs.log" | tr -d ' '; }
sleep 2
STEPS=0
while read -r shape arg hold gap; do
    before=$(lines); t0=$(date +%s%N)
    a=$(echo "${arg%%[|>]*}" | tr ',' ' '); b=$(echo "${arg#*[|>]}" | tr ',' ' ')
    case $shape in
        halves|bridge) cut "$a" "$b" ;;
        oneway) cut "$a" "$b" oneway ;;
        isolate-root) cut "$arg" "$(echo 1 2 3 4 5 | tr ' ' '\n' | grep -vx "$arg" | tr '\n' ' ')" ;;
        kill9) eval "p=\$PID$arg"; kill -9 "$p"; wait "$p" 2>/dev/null ;;
        stop) eval "p=\$PID$arg"; kill -STOP "$p" ;;
    esac
    msleep "$hold"
    t1=$(date +%s%N)
    case $shape in
        kill9) start_node "$arg" --key-file "$T/key" ;;
        stop) kill -CONT "$p" ;;
        *) heal ;;
    esac
    msleep "$gap"
    STEPS=$((STEPS + 1))
    echo "step $STEPS: $shape $arg for ${hold} ms (sections by node 1-5:$(awk -v a="$t0" -v b="$t1" '
        $1 == "start" && $3 + 0 >= a + 0 && $3 + 0 < b + 0 { c[$4]++ }
        END { for (i = 1; i <= 5; i++) printf " %d", c[i] }' "$T/cs.log"); longest without one $(awk -v a="$t0" -v b="$t1" '
        BEGIN { p = a } $1 == "start" && $3 + 0 >= a + 0 && $3 + 0 < b + 0 { if ($3 - p > g) g = $3 - p; p = $3 }
        END { if (b - p > g) g = b - p; printf "%d", g / 1e6 }' "$T/cs.log") ms), then ${gap} ms healed: $(( ($(lines) - before) / 2 )) sections in all"
done < "$T/schedule"
heal

# After the heal every node is granted again (each client keeps asking).
HEALED=$(date +%s%N)
k=0
while [ $k -lt 300 ]; do
    missing=""
    for i in 1 2 3 4 5; do
        awk -v t="$HEALED" -v w="$i" '$1 == "start" && $3 + 0 > t + 0 && $4 == w { f = 1 } END { exit !f }' \
            "$T/cs.log" || missing="$missing $i"
    done
    [ -z "$missing" ] && break
    k=$((k + 1)); sleep 0.1
done
touch "$T/stop"
for c in $CLIENTS; do
    j=0; while kill -0 "$c" 2>/dev/null && [ $j -lt 100 ]; do sleep 0.1; j=$((j + 1)); done
done

for i in 1 2 3 4 5; do
    eval "p=\$PID$i"
    kill -0 "$p" 2>/dev/null || fail "dmutexd of node $i is not running"
    ctl $i status > /dev/null || fail "dmutexd of node $i does not answer STATUS"
done
ok "all five daemons run and answer"
summary=$(check_cs_log "$T/cs.log") || { echo "$summary" | tail -n 20
    fail "$(echo "$summary" | grep -c '^overlap') overlaps, $(echo "$summary" | grep -c '^token') tokens not increasing (seed $SEED)"; }
n=$(echo "$summary" | tail -n 1 | awk '{ print $1 }')
[ "$n" -ge 20 ] || fail "only $n critical sections: the clients did not get the lock"
ok "$summary, none overlapping, tokens strictly increasing; per node:$(for i in 1 2 3 4 5; do
    printf ' %s' "$(awk -v w=$i '$1 == "start" && $4 == w' "$T/cs.log" | wc -l)"; done)"
[ -z "$missing" ] || fail "node(s)$missing not granted within 30 s of the heal"
ok "every node granted again after the heal"
echo "net-partition: seed $SEED, $STEPS steps, $n critical sections: 1 passed, 0 failed"
