#!/bin/sh
# tests/net-epoch.sh -- the epoch policy on a live cluster (loopback): five
# dmutexd under `policy = epoch`; node 3 is killed, the others agree on a
# configuration without it (its epoch rises, its size drops to 4) and keep
# granting; node 3 restarts with its data, catches up and is taken back
# (size 5 again). Every critical section is checked: no overlap, tokens
# strictly increasing across the changes. A smoke test of the daemon's use of
# the policy (issue 14 has the rest); bounded: about 15 s.
. "$(dirname "$0")/net-lib.sh"

cluster_init 5 "policy = epoch" "reconfig_delay = 500ms" "rejoin_delay = 1s" \
    "reconfig_interval = 500ms"
for i in 1 2 3 4 5; do start_node $i; done
for i in 1 2 3 4 5; do wait_alive $i 5; done
ok "5 nodes up and alive under the epoch policy"

CS_LOG=$T/cs.log; export CS_LOG
: > "$CS_LOG"
epoch_of() { ctl "$1" status | sed -n 's/^epoch \([0-9]*\) members \([0-9]*\).*/\1 \2/p'; }
# wait_epoch I SIZE: node I is in an epoch above 1 whose configuration has SIZE members.
wait_epoch() {
    k=0
    while [ $k -lt 100 ]; do
        set -- "$1" "$2" $(epoch_of "$1")
        [ "${3:-0}" -gt 1 ] && [ "${4:-0}" -eq "$2" ] && return 0
        k=$((k + 1)); sleep 0.1
    done
    fail "node $1: no configuration of $2 members within 10 s (status: $(epoch_of "$1"))"
}

[ "$(epoch_of 1)" = "1 5" ] || fail "node 1 did not start in epoch 1 with 5 members: $(epoch_of 1)"
WHO=n1 ctl 1 lock L --timeout 10 -- sh -c "$CS_CMD" || fail "no lock in epoch 1"

kill -9 "$PID3"; wait "$PID3" 2>/dev/null
wait_epoch 1 4
E1=$(epoch_of 1)
ok "node 3 killed: configuration changed to epoch/members $E1"
for i in 1 2 4 5; do
    WHO=n$i ctl "$i" lock L --timeout 10 -- sh -c "$CS_CMD" || fail "no lock through node $i after the change"
done
ok "locks granted through the new configuration"

start_node 3
wait_epoch 3 5
wait_epoch 1 5
ok "node 3 restarted and taken back: $(epoch_of 3) (epoch, members) at node 3"
for i in 3 1; do
    WHO=n$i ctl "$i" lock L --timeout 10 -- sh -c "$CS_CMD" || fail "no lock through node $i after the rejoin"
done
check_cs_log "$CS_LOG" || fail "critical sections overlap or tokens out of order across the changes"
ok "$(grep -c '^start' "$CS_LOG") critical sections, none overlapping, tokens increasing across the changes"
echo "net-epoch: 1 passed, 0 failed"
