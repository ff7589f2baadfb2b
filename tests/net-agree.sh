#!/bin/sh
# tests/net-agree.sh -- configuration agreement (net/agree.h): three nodes
# that agree, a fourth member started with another lease, and a fifth node
# given another member list (the cluster's four plus itself). Each
# misconfigured node is refused with the differing setting named in both
# logs and in both STATUS outputs (config_mismatch line), its frames are
# counted as config_mismatch, and the three good nodes keep granting. The
# member with the wrong lease, restarted with the right one, is taken back.
. "$(dirname "$0")/net-lib.sh"

cluster_init 5
ALL=$MEMBERS
MEMBERS="$ADDR1,$ADDR2,$ADDR3,$ADDR4"
for i in 1 2 3; do start_node $i; done
start_node 4 --set lease=2s
MEMBERS=$ALL
start_node 5
MEMBERS="$ADDR1,$ADDR2,$ADDR3,$ADDR4"

# Bounded wait (5 s) for a node's config_mismatch line to name PEER=SETTINGS.
wait_mismatch() {
    k=0
    while [ $k -lt 50 ]; do
        ctl "$1" status | grep '^config_mismatch' | tr ' ' '\n' | grep -qx "$2" && return 0
        k=$((k + 1)); sleep 0.1
    done
    ctl "$1" status | grep '^config_mismatch'
    fail "node $1: no config_mismatch $2"
}

for i in 1 2 3; do
    wait_mismatch $i "$ADDR4=lease"
    wait_mismatch $i "$ADDR5=members"
done
ok "good nodes list the node with another lease and the one with another member list"
for i in 1 2 3; do eval "a=\$ADDR$i"; wait_mismatch 4 "$a=lease"; done
for i in 1 2 3; do eval "a=\$ADDR$i"; wait_mismatch 5 "$a=members"; done
wait_mismatch 5 "$ADDR4=lease,members"
ok "each misconfigured node lists the good ones, from its side"

grep -qF "configuration differs from $ADDR4's: lease: 2s there, 1s here" "$T/log.1" ||
    fail "node 1's log does not name node 4 and the lease"
grep -qF "configuration differs from $ADDR1's: lease: 1s there, 2s here" "$T/log.4" ||
    fail "node 4's log does not name node 1 and the lease"
grep -qF "configuration differs from $ADDR5's (not in our member list): members: 5 members, digest" "$T/log.1" ||
    fail "node 1's log does not name node 5 and the member set"
grep -qF "configuration differs from $ADDR1's: members: 4 members, digest" "$T/log.5" ||
    fail "node 5's log does not name node 1 and the member set"
ok "both sides' logs name the peer and the setting, with both values"

# Their membership traffic is refused and counted (probes every 200 ms).
sleep 1
for i in 1 2 3; do
    v=$(counter $i config_mismatch)
    [ "${v:-0}" -gt 0 ] || { ctl $i status; fail "node $i: config_mismatch is ${v:-?}"; }
done
v=$(counter 4 config_mismatch)
[ "${v:-0}" -gt 0 ] || fail "node 4: config_mismatch is ${v:-?}"
ok "frames of mismatched peers counted as config_mismatch"

# The good nodes keep granting (node 4 is a member they now go around).
for i in 1 2 3; do
    ctl $i lock A --timeout 10 -- true || fail "node $i cannot lock with two misconfigured nodes about"
done
ok "the good nodes keep granting"

# Node 4 restarted with the cluster's lease is taken back.
eval "kill \$PID4"
eval "wait \$PID4" 2>/dev/null
start_node 4
k=0
while ctl 1 status | grep '^config_mismatch' | grep -qF "$ADDR4="; do
    k=$((k + 1)); [ $k -lt 50 ] || fail "node 4, restarted with the right lease, still refused"
    sleep 0.1
done
grep -qF "configuration of $ADDR4 agrees with ours now" "$T/log.1" || fail "node 1 does not say node 4 agrees now"
wait_alive 1 4
ctl 4 lock B --timeout 10 -- true || fail "node 4 cannot lock once it agrees"
ok "a member restarted with the right settings is taken back and granted"
echo "net-agree: 6 passed, 0 failed"
