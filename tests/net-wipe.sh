#!/bin/sh
# tests/net-wipe.sh -- issue 9's disk loss, live: 5 dmutexd on loopback; A
# holds L through n1, whose quorum contains the arbiter n3; n3 is killed
# (kill -9), its data directory removed, and it is started again WITHOUT
# --bootstrap, as an operator restarts a member whose disk was replaced.
# While A still holds L, B asks for L through a node whose quorum contains
# n3. Checked: n3 says at start that it has no persisted state and recovers,
# its STATUS says `recovering`, it writes its state at once; on the shared
# log A's and B's commands never overlap and fencing tokens strictly
# increase; once n3 is ready, a lock through n3 itself gets a larger token
# still (its token floor came from the cluster).
#
# DM_NET_WIPE_BOOTSTRAP=1 restarts n3 WITH --bootstrap instead, the
# behaviour before issue 9 (not part of make check): the test then fails,
# showing the equal tokens or the overlap that a wiped member causes.
. "$(dirname "$0")/net-lib.sh"

BOOT=${DM_NET_WIPE_BOOTSTRAP:-}

# A must release L before its first renewal (a third of its lease after the
# grant): a KEEP reaching the wiped n3 is answered REVOKED, A then loses L
# and n1 passes it on at once -- while A's command is still being told, so
# the commands could overlap by the reaction time, which no lease prevents
# (the fencing token does). With 5 s, A renews after 1.6 s; the wipe, the
# restart and B's request take about half a second.
cluster_init 5 "lease = 5s"
for i in 1 2 3 4 5; do start_node $i; done
for i in 1 2 3 4 5; do wait_alive $i 5; done
ok "5 nodes up and alive"

# The quorums of a lock, as the nodes say they would form them (STATUS NAME:
# `quorum`). Members are placed per lock name, so take a name whose quorum at
# node 1 contains node 3 (most names of five members' placements do).
quorum_of() { ctl "$1" status "$L" | sed -n 's/^quorum //p'; }
L=
for c in L L1 L2 L3 L4 L5 L6 L7 L8 L9; do
    case " $(ctl 1 status "$c" | sed -n 's/^quorum //p') " in *" $ADDR3 "*) L=$c; break ;; esac
done
[ -n "$L" ] || fail "no lock name among L, L1..L9 whose quorum at node 1 contains node 3"
ok "lock name $L: node 1's quorum $(quorum_of 1)"
case " $(quorum_of 1) " in
    *" $ADDR3 "*) ;;
    *) fail "node 1's quorum ($(quorum_of 1)) does not contain node 3 ($ADDR3)" ;;
esac
B=""
for i in 4 5 2; do
    case " $(quorum_of $i) " in *" $ADDR3 "*) B=$i; break ;; esac
done
[ -n "$B" ] || fail "no node besides 1 and 3 has node 3 in its quorum"
ok "node 1's quorum: $(quorum_of 1); node $B's: $(quorum_of $B)"

CS_LOG=$T/cs.log; export CS_LOG CS_CMD T
: > "$CS_LOG"

# A: holds L until B has asked, then a little longer (for B's request to
# meet n1's grant), then releases.
A_CMD='trap '\''echo "end $DMUTEX_FENCING_TOKEN $(date +%s%N) A-lost" >> "$CS_LOG"; exit 143'\'' TERM
echo "start $DMUTEX_FENCING_TOKEN $(date +%s%N) A" >> "$CS_LOG"
echo "$DMUTEX_FENCING_TOKEN" > "$T/tokA"
k=0; while [ ! -e "$T/b-asked" ] && [ $k -lt 100 ]; do sleep 0.05; k=$((k + 1)); done
sleep 0.2
echo "end $DMUTEX_FENCING_TOKEN $(date +%s%N) A" >> "$CS_LOG"'
ctl 1 lock "$L" --timeout 10 -- sh -c "$A_CMD" > "$T/ctlA.out" 2>&1 &
CTLA=$!
k=0; while [ ! -s "$T/tokA" ] && [ $k -lt 100 ]; do sleep 0.05; k=$((k + 1)); done
[ -s "$T/tokA" ] || fail "A never got $L through node 1"
TOKA=$(cat "$T/tokA")
ok "A holds $L through node 1 with token $TOKA"

# Wipe n3 and start it again.
kill -9 "$PID3"; wait "$PID3" 2>/dev/null
rm -rf "$T/data3"
if [ -n "$BOOT" ]; then start_node 3 --bootstrap; else start_node 3; fi
STATUS3=$(ctl 3 status)
[ -s "$T/data3/state" ] || fail "node 3 did not write its state at once"
if [ -z "$BOOT" ]; then
    echo "$STATUS3" | grep -q '^recovery recovering ' || { echo "$STATUS3"; fail "STATUS of node 3 does not say recovering"; }
    grep -q "no persisted state (.*did not exist: a new or wiped data directory): grants nothing for [0-9]* ms and until a token floor is recovered" "$T/log.3" \
        || fail "node 3 did not say at start that it recovers"
    ok "node 3 restarted wiped: $(echo "$STATUS3" | grep '^recovery')"
fi

# B asks while A holds, once node B would form a quorum with n3 again (it
# may have suspected n3 meanwhile, and then goes around it).
k=0
while :; do
    case " $(quorum_of "$B") " in *" $ADDR3 "*) break ;; esac
    [ $k -lt 100 ] || fail "node $B's quorum ($(quorum_of "$B")) did not contain node 3 again within 2 s"
    k=$((k + 1)); sleep 0.02
done
ok "node $B's quorum again: $(quorum_of "$B") (after $k polls)"
# Asked: node B's daemon is acquiring (STATUS names=1), or already granted.
WHO=B ctl "$B" lock "$L" --timeout 10 -- sh -c "$CS_CMD" > "$T/ctlB.out" 2>&1 &
CTLB=$!
k=0
until ctl "$B" status | grep -q '^control .* names=1 ' || grep -q ' B$' "$CS_LOG" || [ $k -ge 100 ]; do
    sleep 0.02; k=$((k + 1))
done
ctl 1 status | grep -q "^held $L token $TOKA " || fail "A no longer held $L when B asked"
: > "$T/b-asked"
wait "$CTLA"; rca=$?
wait "$CTLB"; rcb=$?
echo "shared log:"; sed 's/^/    /' "$CS_LOG"
[ "$rca" -eq 0 ] || { cat "$T/ctlA.out"; fail "A's dmutexctl exited $rca: A lost $L before it released it (slower than a renew interval?)"; }
[ "$rcb" -eq 0 ] || { cat "$T/ctlB.out"; fail "B's lock through node $B exited $rcb"; }
check_cs_log "$CS_LOG" || fail "A and B overlap, or tokens do not increase"
TOKB=$(awk '$1 == "start" && $4 == "B" { print $2 }' "$CS_LOG")
ok "A (token $TOKA) and B (token $TOKB, through node $B) did not overlap"

# n3 becomes ready and grants, above every token the cluster used.
k=0
while ! ctl 3 status | grep -q '^recovery ready' && [ $k -lt 100 ]; do sleep 0.1; k=$((k + 1)); done
ctl 3 status | grep -q '^recovery ready' || { ctl 3 status; fail "node 3 is not ready 10 s after B"; }
WHO=C ctl 3 lock "$L" --timeout 10 -- sh -c "$CS_CMD" || fail "no lock through node 3 once ready"
check_cs_log "$CS_LOG" || fail "a lock through the recovered node 3 broke token order"
ok "node 3 ready; a lock through it has token $(awk '$1 == "start" && $4 == "C" { print $2 }' "$CS_LOG")"
echo "net-wipe: 1 passed, 0 failed"
