#!/bin/sh
# tests/net-cache.sh -- sticky grants live (core grant_cache, docs/PROTOCOL.md
# "Sticky grants"). Five dmutexd with grant_cache on. Node 1 alone locks L
# over and over (`dmutexctl lock L -- CMD`, a new control connection each
# time): its log must show re-uses (a grant of 0 messages). Then nodes 1 and
# 3 contend for L, each running net-lib.sh's critical section (CS_CMD) in its
# hold: sections never overlap and tokens strictly increase across re-used
# and fresh holds alike (check_cs_log). Bounded: 40 + 2 x 40 locks, each with
# a 10 s timeout.
. "$(dirname "$0")/net-lib.sh"

cluster_init 5 "grant_cache = true"
for i in 1 2 3 4 5; do start_node $i; done
for i in 1 2 3 4 5; do wait_alive $i 5; done
CS_LOG=$T/cs.log
: > "$CS_LOG"
export CS_LOG CS_CMD

# loop NODE COUNT: lock L COUNT times at NODE.
loop() {
    n=0
    while [ "$n" -lt "$2" ]; do
        WHO=n$1 ctl "$1" lock L --timeout 10 -- sh -c "$CS_CMD" || return 1
        n=$((n + 1))
    done
}

loop 1 40 || fail "node 1 could not lock L"
reused=$(grep -c "lock L granted: .*, 0 messages" "$T/log.1")
[ "$reused" -gt 0 ] || fail "no lock of L at node 1 re-used kept grants"
check_cs_log "$CS_LOG" > /dev/null || { cat "$CS_LOG"; fail "one client's sections out of order"; }
ok "one client: $reused of 40 locks re-used kept grants (0 messages)"

loop 1 40 > "$T/loop1" 2>&1 &
l1=$!
loop 3 40 > "$T/loop3" 2>&1 &
l3=$!
wait "$l1" || { cat "$T/loop1"; fail "node 1 could not lock L while node 3 contended"; }
wait "$l3" || { cat "$T/loop3"; fail "node 3 could not lock L while node 1 contended"; }
sections=$(check_cs_log "$CS_LOG") || { cat "$CS_LOG"; fail "sections overlap or tokens out of order"; }
reused=$(cat "$T/log.1" "$T/log.3" | grep -c "lock L granted: .*, 0 messages")
ok "two clients: $sections in order, tokens strictly increasing ($reused re-uses in all)"
