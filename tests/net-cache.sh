#!/bin/sh
# tests/net-cache.sh -- sticky grants live (core grant_cache, docs/PROTOCOL.md
# "Sticky grants"). Five dmutexd with grant_cache on. Node 1 alone locks L
# over and over (`dmutexctl lock L -- CMD`, a new control connection each
# time): its log must show re-uses (a grant of 0 messages). Then nodes 1 and
# 3 contend for L, each appending "start|end TOKEN NS WHO" around its hold to
# a shared log: no holder's lines may follow the next holder's start, and
# tokens must strictly increase across re-used and fresh holds alike.
# Bounded: 40 + 2 x 40 locks, each with a 10 s timeout.
. "$(dirname "$0")/net-lib.sh"

cluster_init 5 "grant_cache = true"
for i in 1 2 3 4 5; do start_node $i; done
for i in 1 2 3 4 5; do wait_alive $i 5; done
LOG=$T/shared.log
: > "$LOG"
export LOG
HOLD='echo "start $DMUTEX_FENCING_TOKEN $(date +%s%N) $WHO" >> "$LOG"; echo "end $DMUTEX_FENCING_TOKEN $(date +%s%N) $WHO" >> "$LOG"'

# loop NODE COUNT: lock L COUNT times at NODE.
loop() {
    n=0
    while [ "$n" -lt "$2" ]; do
        WHO=n$1 ctl "$1" lock L --timeout 10 -- sh -c "$HOLD" || return 1
        n=$((n + 1))
    done
}

# Every holder's lines together, tokens strictly increasing.
check_log() {
    awk '
        { if ($2 != cur) { if ($1 != "start") { print "line of token " $2 " outside its section: " $0; bad = 1 }
                           if ($2 + 0 <= cur + 0) { print "token not increasing: " $2 " after " cur; bad = 1 }
                           if (cur != "") done[cur] = 1
                           cur = $2; n++ }
          if (done[$2]) { print "written after the next holder started: " $0; bad = 1 } }
        END { print n " holds"; exit bad }' "$LOG"
}

loop 1 40 || fail "node 1 could not lock L"
reused=$(grep -c "lock L granted: .*, 0 messages" "$T/log.1")
[ "$reused" -gt 0 ] || fail "no lock of L at node 1 re-used kept grants"
check_log > /dev/null || { cat "$LOG"; fail "tokens of one client not increasing"; }
ok "one client: $reused of 40 locks re-used kept grants (0 messages)"

loop 1 40 > "$T/loop1" 2>&1 &
l1=$!
loop 3 40 > "$T/loop3" 2>&1 &
l3=$!
wait "$l1" || { cat "$T/loop1"; fail "node 1 could not lock L while node 3 contended"; }
wait "$l3" || { cat "$T/loop3"; fail "node 3 could not lock L while node 1 contended"; }
holds=$(check_log) || { cat "$LOG"; fail "the shared log shows an overlap or a token out of order"; }
reused=$(grep -c "lock L granted: .*, 0 messages" "$T/log.1" "$T/log.3" | awk -F: '{s += $2} END {print s}')
ok "two clients: $holds in order, tokens strictly increasing ($reused re-uses in all)"
