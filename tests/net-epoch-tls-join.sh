#!/bin/sh
# tests/net-epoch-tls-join.sh -- `dmutexd --join` on a TLS cluster (policy
# epoch): members check a peer's certificate against their address table,
# the --members plus the addresses bound by `members add`, so a TLS cluster
# grows by a new address. Three members with TLS; then
#   1. node 4, at an address in nobody's --members, with a certificate of the
#      cluster's CA naming it, starts with --join, is added by an operator,
#      connects (its certificate now names a member) and is granted, as is
#      every member;
#   2. a client with a certificate of the same CA naming an address nobody
#      added is still refused ("names ..., which is not a member");
#   3. node 4 restarts without --join: its table names it; granted again.
# Certificates are made here with certtool (gnutls-bin). Bounded: every wait
# has a limit; about 10 s.
. "$(dirname "$0")/net-lib.sh"

command -v certtool >/dev/null 2>&1 || { echo "SKIP: certtool (gnutls-bin) needed"; exit 77; }

cluster_init 3 "policy = epoch" "quorum = majority" "tls_ca = $T/ca.pem" "reconfig_delay = 60s" \
    "reconfig_interval = 500ms"
set -- $(free_ports 2)
ADDR4=127.0.0.1:$1; ADDR5=127.0.0.1:$2
gen_ca ca
for i in 1 2 3 4 5; do eval "gen_cert n$i ca \"\$ADDR$i\""; done
tls() { echo "--set tls_cert=$T/n$1.pem --set tls_key=$T/n$1.key"; }
for i in 1 2 3; do start_node $i $(tls $i); done
for i in 1 2 3; do wait_alive $i 3; done
grep -q "TLS 1.3 on every stream" "$T/log.1" || fail "TLS not in use"
serving() {   # serving I: node I's full control socket answers (at most 10 s)
    k=0
    until ctl "$1" status 2>/dev/null | grep -q '^self '; do
        k=$((k + 1)); [ $k -lt 100 ] || fail "node $1 does not serve: $(tail -3 "$T/log.$1")"; sleep 0.1
    done
}
node4() {   # node4 [OPTIONS]: start node 4 at the new address
    "$DMUTEXD" --id "$ADDR4" --config "$CONF" $(tls 4) --data-dir "$T/data4" --control "$T/c4.sock" \
        --log-level info "$@" >> "$T/log.4" 2>&1 &
    PID4=$!; PIDS="$PIDS $!"
}

# 1. Join with TLS.
node4 --join "$ADDR1,$ADDR2"
k=0
until ctl 4 status 2>/dev/null | grep -q "^joining $ADDR4 state=waiting-for-add"; do
    k=$((k + 1)); [ $k -lt 50 ] || fail "node 4 does not wait to be added: $(tail -3 "$T/log.4")"; sleep 0.1
done
members_add 1 "$ADDR4" 4
out=$OUT
serving 4
for i in 1 2 3 4; do wait_config_is $i "$ADDR1 $ADDR2 $ADDR3 $ADDR4"; done
wait_alive 4 4
for i in 4 1 2 3; do ctl $i lock L --timeout 10 -- true || fail "node $i not granted after node 4 joined"; done
grep -q "which is not a member" "$T/log.1" "$T/log.2" "$T/log.3" "$T/log.4" &&
    fail "a member's certificate was refused: $(grep -h 'which is not a member' "$T"/log.*)"
ok "node 4 joined a TLS cluster at a new address ($out), configuration installed everywhere, every node granted"

# 2. The CA alone does not make a member: an address nobody added is refused.
sleep 1.2   # failures are logged at most once a second per peer
tls_client "$ADDR1" "$T/ca.pem" "$T/n5.pem" "$T/n5.key" || fail "client at an unknown address"
k=0
until grep -q "names $ADDR5, which is not a member" "$T/log.1"; do
    k=$((k + 1)); [ $k -lt 50 ] || fail "node 1 did not refuse a certificate naming $ADDR5"; sleep 0.1
done
ok "a certificate of the cluster's CA naming $ADDR5 (never added) is refused"

# 3. Restart without --join.
kill "$PID4"; wait "$PID4" 2>/dev/null
node4
serving 4
grep -q "restarting from $T/data4/bindings: $ADDR4 is id 3" "$T/log.4" || fail "node 4 did not restart from its table"
ctl 4 lock L --timeout 10 -- true || fail "node 4, restarted without --join, not granted"
ok "node 4 restarted without --join, granted"
echo "net-epoch-tls-join: 1 passed, 0 failed"
