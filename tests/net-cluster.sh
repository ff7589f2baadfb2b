#!/bin/sh
# tests/net-cluster.sh -- a 5-node cluster of real dmutexd processes on
# loopback: locks from every node through `dmutexctl lock NAME -- cmd`, the
# shared log checked for overlap and token order; kill -9 of a non-holder
# and of the holder (the cluster keeps granting, after one lease for the
# holder); both restart from their data directories and rejoin; SIGTERM
# leaves cleanly (exit 0).
. "$(dirname "$0")/net-lib.sh"

cluster_init 5
for i in 1 2 3 4 5; do start_node $i; done
for i in 1 2 3 4 5; do wait_alive $i 5; done
ok "5 nodes up and alive"

CS_LOG=$T/cs.log; export CS_LOG
: > "$CS_LOG"

# Round 1: 3 locks from every node, all contending for one name.
round() {
    pids=""
    for i in "$@"; do
        (
            for r in 1 2 3; do
                WHO=n$i ctl "$i" lock L --timeout 20 -- sh -c "$CS_CMD" || echo "node $i lock failed: $?" >> "$T/errors"
            done
        ) &
        pids="$pids $!"
    done
    for p in $pids; do wait "$p"; done
}
export CS_CMD
round 1 2 3 4 5
[ -s "$T/errors" ] && { cat "$T/errors"; fail "a lock failed in round 1"; }
check_cs_log "$CS_LOG" || fail "critical sections overlap or tokens out of order"
[ "$(grep -c '^start' "$CS_LOG")" -eq 15 ] || fail "expected 15 sections"
ok "15 sections from 5 nodes, no overlap, tokens increasing"

# Node i is member id i-1; the tree over ids 0..4 has root 2, children 0 and
# 3, leaves 1 and 4. Killing a leaf (id 4) and then the root (id 2) leaves
# quorums ({0, 3}, ...); killing 2 and 3 would leave none (AE availability).

# kill -9 of a non-holder (node 5, a leaf): the others keep granting.
kill -9 "$PID5"; wait "$PID5" 2>/dev/null
round 1 2 3 4
[ -s "$T/errors" ] && { cat "$T/errors"; fail "a lock failed with node 5 dead"; }
check_cs_log "$CS_LOG" || fail "overlap after killing a non-holder"
ok "node 5 killed: 12 more sections, no overlap"

# kill -9 of the holder: node 3 (the root) holds L for a long command, dies.
ctl 3 lock L --timeout 20 -- sh -c 'echo $DMUTEX_FENCING_TOKEN > "$0"; sleep 30' "$T/held2" \
    > "$T/ctl2.out" 2>&1 &
CTL2=$!
k=0; while [ ! -s "$T/held2" ] && [ $k -lt 100 ]; do sleep 0.1; k=$((k + 1)); done
[ -s "$T/held2" ] || fail "node 3 never got the lock"
TOK2=$(cat "$T/held2")
kill -9 "$PID3"; wait "$PID3" 2>/dev/null
t0=$(date +%s%N)
WHO=n1 ctl 1 lock L --timeout 20 -- sh -c 'echo $DMUTEX_FENCING_TOKEN > "$0"' "$T/after" \
    || fail "no grant after the holder was killed"
t1=$(date +%s%N)
TOKA=$(cat "$T/after")
[ "$TOKA" -gt "$TOK2" ] || fail "token $TOKA after the dead holder's $TOK2"
ok "holder (the root) killed: node 1 got L with token $TOKA > $TOK2 after $(( (t1 - t0) / 1000000 )) ms"
wait "$CTL2"; rc=$?
[ "$rc" -eq 1 ] || fail "dmutexctl of the killed daemon exited $rc, want 1"
grep -q LOST "$T/ctl2.out" || fail "dmutexctl of the killed daemon did not report the loss"
ok "the dead daemon's dmutexctl reported LOST and exited 1"

# Restart both from their data directories: they rejoin and serve.
start_node 3
start_node 5
for i in 1 3 5; do wait_alive $i 5 15; done
grep -q "restarted from saved state" "$T/log.3" || fail "node 3 did not read its state back"
# Its new incarnation spreads by gossip: give it a few probe periods.
k=0
while :; do
    inc=$(ctl 1 members | awk -v a="$ADDR3" '$1 == a { print $3 }')
    [ "${inc:-0}" -ge 1 ] || [ $k -ge 100 ] && break
    k=$((k + 1)); sleep 0.1
done
[ "${inc:-0}" -ge 1 ] || fail "node 3 rejoined with incarnation ${inc:-?}, want >= 1 (after 10 s)"
ok "nodes 3 and 5 restarted from their data directories and rejoined (incarnation $inc)"
round 3 5 2
[ -s "$T/errors" ] && { cat "$T/errors"; fail "a lock failed after the restarts"; }
check_cs_log "$CS_LOG" || fail "overlap after the restarts"
ok "restarted nodes lock again: $(grep -c '^start' "$CS_LOG") sections in all, no overlap"

# SIGTERM: leave and exit 0.
for i in 1 2 3 4 5; do eval "kill -TERM \$PID$i"; done
for i in 1 2 3 4 5; do
    eval "p=\$PID$i"
    wait "$p"; rc=$?
    [ "$rc" -eq 0 ] || fail "node $i exited $rc after SIGTERM"
done
PIDS=""
ok "SIGTERM: every node left and exited 0"
echo "net-cluster: 1 passed, 0 failed"
