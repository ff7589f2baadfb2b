#!/bin/sh
# tests/net-tls.sh -- TLS 1.3 between members, encrypted datagrams and
# rotations, with real dmutexd processes on loopback. Certificates are made
# here with certtool (gnutls-bin), never committed.
#   1. a 4-member cluster with TLS, a keyring and udp_encrypt grants locks
#      from every node (shared log: no overlap, tokens increasing);
#   2. half a TLS configuration does not start; node 4 without TLS is
#      refused (both sides say TLS is configured on one side only);
#      node 4 with a certificate from a CA nobody trusts: refused, with the
#      reason on both sides; node 4 given node 1's certificate refuses to
#      start; a TLS client holding node 4's genuine certificate whose
#      frames claim to come from node 2 is refused ("its certificate
#      names ...");
#   3. node 4 with an old key: "frames from ADDR4 fail authentication:
#      check the key file", rate-limited, and STATUS names it;
#   4. with clients locking on nodes 1-3 throughout (shared log): a key
#      rotation (add, switch, remove) and a certificate rotation to a new CA
#      (SIGHUP each time) lose no lock; then node 4, restarted with only
#      the new key and trusting only the new CA, locks through the rotated
#      members.
. "$(dirname "$0")/net-lib.sh"

command -v certtool >/dev/null 2>&1 || { echo "SKIP: certtool (gnutls-bin) needed"; exit 77; }

# refused_both WHY PEERS-PATTERN NODE4-PATTERN: within 5 s, one of nodes 1-3
# logs the first and node 4 the second (each side says why).
refused_both() {
    k=0
    until grep -q "$2" "$T/log.1" "$T/log.2" "$T/log.3" && grep -q "$3" "$T/log.4"; do
        k=$((k + 1)); [ $k -lt 50 ] || fail "$1"; sleep 0.1
    done
}
# logged FILE PATTERN WHY: within 5 s, FILE has PATTERN.
logged() {
    k=0
    until grep -q "$2" "$1"; do k=$((k + 1)); [ $k -lt 50 ] || fail "$3"; sleep 0.1; done
}
newkey() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; echo; }

KEY1=$(newkey); KEY2=$(newkey)
echo "$KEY1" > "$T/ring"
newkey > "$T/old.key"
cluster_init 4 "key_file = $T/ring" "udp_encrypt = true" "tls_ca = $T/ca1.pem,$T/ca2.pem"
gen_ca ca1; gen_ca ca2; gen_ca rogue
for i in 1 2 3 4; do
    eval "addr=\$ADDR$i"
    gen_cert "n$i" ca1 "$addr"
    cp "$T/n$i.pem" "$T/live$i.pem"; cp "$T/n$i.key" "$T/live$i.key"
    gen_cert "new$i" ca2 "$addr"
done
gen_cert bad4 rogue "$ADDR4"
tls() { echo "--set tls_cert=$T/live$1.pem --set tls_key=$T/live$1.key"; }

# ---------------------------------------------------------------- 1
for i in 1 2 3 4; do start_node $i $(tls $i); done
for i in 1 2 3 4; do wait_alive $i 4; done
ctl 1 status | grep -q "^auth keys 1 sending .* udp encrypted tls on" || { ctl 1 status; fail "status does not show TLS and encryption"; }
CS_LOG=$T/cs.log; export CS_LOG CS_CMD
: > "$CS_LOG"
pids=""
for i in 1 2 3 4; do
    ( for r in 1 2; do WHO=n$i ctl $i lock L --timeout 20 -- sh -c "$CS_CMD" || echo "node $i: $?" >> "$T/errors"; done ) &
    pids="$pids $!"
done
for p in $pids; do wait "$p"; done
[ -s "$T/errors" ] && { cat "$T/errors"; fail "a lock failed over TLS"; }
check_cs_log "$CS_LOG" || fail "overlap or tokens out of order over TLS"
for i in 1 2 3 4; do
    [ "$(counter $i auth)" = 0 ] || { ctl $i status; fail "node $i counted authentication failures"; }
done
ok "TLS + encrypted datagrams: 8 sections from 4 nodes, no overlap, tokens increasing"

# ---------------------------------------------------------------- 2
kill -TERM "$PID4"; wait "$PID4"
# No silent downgrade: half a TLS configuration does not start, and a node
# without TLS is refused by the others, each side saying why.
"$DMUTEXD" --id "$ADDR4" --members "$MEMBERS" --config "$CONF" > "$T/half.out" 2>&1
[ $? -eq 2 ] && grep -q "TLS needs all of tls_ca, tls_cert and tls_key (given: tls_ca)" "$T/half.out" ||
    { cat "$T/half.out"; fail "half a TLS configuration was not refused"; }
grep -v '^tls_ca' "$CONF" > "$T/plain.conf"
start_node 4 --config "$T/plain.conf"
ctl 4 lock L --timeout 2 -- true 2>/dev/null && fail "node 4 without TLS got a lock"
refused_both "a node without TLS was not refused clearly" \
    "is TLS configured there?" "TLS is configured there, not here"
ok "node 4 without TLS refused: $(grep -h -m1 "is TLS configured there?" "$T"/log.[123] | sed 's/.*WARNING dmutex-net: //' | cut -c1-100)..."
kill -TERM "$PID4"; wait "$PID4"
start_node 4 --set tls_cert="$T/bad4.pem" --set tls_key="$T/bad4.key" --set tls_ca="$T/ca1.pem,$T/rogue.pem"
ctl 4 lock L --timeout 2 -- true 2>/dev/null && fail "node 4 with an untrusted certificate got a lock"
refused_both "no refusal of the untrusted certificate in the logs" \
    "refused: the peer's certificate is not trusted" "the peer refused the TLS session"
ok "untrusted certificate: $(grep -h -m1 "not trusted" "$T"/log.[123] | sed 's/.*WARNING dmutex-net: //')"
ok "  and on node 4: $(grep -m1 "the peer refused" "$T/log.4" | sed 's/.*WARNING dmutex-net: //' | cut -c1-100)..."
kill -TERM "$PID4"; wait "$PID4"

"$DMUTEXD" --id "$ADDR4" --members "$MEMBERS" --config "$CONF" --set tls_cert="$T/n1.pem" \
    --set tls_key="$T/n1.key" > "$T/wrong.out" 2>&1 && fail "node 4 started with node 1's certificate"
grep -q "names member $ADDR1, not this node" "$T/wrong.out" || { cat "$T/wrong.out"; fail "no clear error for a certificate of another member"; }
ok "node 4 given node 1's certificate refuses to start: $(sed 's/^dmutexd: //' "$T/wrong.out" | cut -c1-110)..."

# A member's genuine certificate does not let it speak for another member.
# (Failures are logged at most once a second per peer, and node 1 may have
# just logged node 4's untrusted certificate: let that second pass.)
sleep 1.2
# A 20-byte frame header claiming member id 1 (node 2), to id 0 (u32 length
# 20, version 2, type 1, from 1, to 0, ...), keyed trailer of zeros: the
# certificate check comes first.
tls_client "$ADDR1" "$T/ca1.pem" "$T/n4.pem" "$T/n4.key" \
    "00000014020100010000$(printf '0%.0s' $(seq 1 116))" || fail "impostor client"
logged "$T/log.1" "frames from $ADDR4 fail authentication: its certificate names $ADDR4 but its frames claim to come from $ADDR2" \
    "frames claiming another member were not refused"
ok "a frame claiming node 2 on node 4's certificate is refused"

# ---------------------------------------------------------------- 3
start_node 4 $(tls 4) --key-file "$T/old.key"
logged "$T/log.1" "frames from $ADDR4 fail authentication: check the key file" \
    "no 'fail authentication' line for the node with the old key"
sleep 2
ctl 1 status | grep "^auth_failures" | grep -q "last=$ADDR4 .*$ADDR4=" || { ctl 1 status; fail "status does not name node 4"; }
lines=$(grep -c "frames from $ADDR4 fail authentication: check the key file" "$T/log.1")
fails=$(ctl 1 status | sed -n "s/.*$ADDR4=\([0-9]*\).*/\1/p")
[ "$lines" -le 5 ] || fail "$lines log lines for $fails failures in ~3 s: not rate-limited"
ok "old key: $(grep -m1 "frames from $ADDR4 fail authentication: check" "$T/log.1" | sed 's/.*WARNING dmutex-net: //')"
ok "  $lines log lines for $fails failures; status: $(ctl 1 status | grep '^auth_failures' | cut -c1-80)"
kill -TERM "$PID4"; wait "$PID4"

# ---------------------------------------------------------------- 4
# Clients on nodes 1-3 lock throughout; the rotations happen meanwhile.
: > "$CS_LOG"; rm -f "$T/errors" "$T/stop"
pids=""
for i in 1 2 3; do
    (
        r=0
        while [ ! -e "$T/stop" ] && [ $r -lt 300 ]; do
            WHO=n$i ctl $i lock L --timeout 20 -- sh -c "$CS_CMD" || echo "node $i: lock failed: $?" >> "$T/errors"
            r=$((r + 1))
        done
    ) &
    pids="$pids $!"
done
hup() { for i in 1 2 3; do eval "kill -HUP \$PID$i"; done; sleep 1; }
sections() { grep -c '^start' "$CS_LOG"; }
sleep 1
printf '%s\n%s\n' "$KEY1" "$KEY2" > "$T/ring"; hup     # add the new key everywhere
printf '%s\n%s\n' "$KEY2" "$KEY1" > "$T/ring"; hup     # switch the sending key
printf '%s\n' "$KEY2" > "$T/ring"; hup                 # remove the old one
id2=$(ctl 1 status | sed -n 's/^auth keys 1 sending \([0-9a-f]*\).*/\1/p')
[ -n "$id2" ] || { ctl 1 status; fail "node 1 does not hold exactly the new key"; }
ok "key rotation (add, switch, remove) with clients running: $(sections) sections so far, sending with $id2"
for i in 1 2 3; do cp "$T/new$i.pem" "$T/live$i.pem"; cp "$T/new$i.key" "$T/live$i.key"; done
hup
grep -q "reloaded TLS credentials for new connections: certificate $T/live1.pem" "$T/log.1" || fail "node 1 did not reload its certificate"
# What a new connection to node 1 now meets: the certificate from the new CA.
python3 - "$ADDR1" "$T/ca2.pem" "$T/new4.pem" "$T/new4.key" <<'PY' || fail "node 1 does not present its new certificate"
import socket, ssl, sys
host, port = sys.argv[1].rsplit(":", 1)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.load_verify_locations(sys.argv[2])
ctx.load_cert_chain(sys.argv[3], sys.argv[4])
ctx.wrap_socket(socket.create_connection((host, int(port)), timeout=5)).close()
PY
touch "$T/stop"
for p in $pids; do wait "$p"; done
[ -s "$T/errors" ] && { cat "$T/errors"; fail "a lock failed during the rotations"; }
check_cs_log "$CS_LOG" || fail "overlap or tokens out of order during the rotations"
n=$(sections)
[ "$n" -ge 20 ] || fail "only $n sections during the rotations"
ok "certificate rotation to a new CA: $n sections during both rotations, none failed, no overlap"

# Node 4, on the new key and trusting only the new CA, joins the rotated members.
cp "$T/new4.pem" "$T/live4.pem"; cp "$T/new4.key" "$T/live4.key"
printf '%s\n' "$KEY2" > "$T/ring4"
start_node 4 $(tls 4) --key-file "$T/ring4" --set tls_ca="$T/ca2.pem"
WHO=n4 ctl 4 lock L --timeout 20 -- sh -c "$CS_CMD" || fail "node 4 on the new key and CA cannot lock"
check_cs_log "$CS_LOG" || fail "overlap after node 4 joined"
ok "node 4 on the new key and CA only locks through the rotated members"

for i in 1 2 3 4; do eval "kill -TERM \$PID$i"; done
for i in 1 2 3 4; do eval "wait \$PID$i" || fail "node $i did not exit 0"; done
PIDS=""
echo "net-tls: 1 passed, 0 failed"
