#!/bin/sh
# tests/net-epoch-ops.sh -- membership changes of the epoch policy on a live
# cluster (loopback), by operators and by SWIM, with clients locking from
# every running node throughout. Six addresses are configured; node 6 is a
# spare that does not run at first:
#   1. SWIM removes the spare that never came up (reconfig_delay);
#   2. an operator removes node 5 (`dmutexctl members remove`) and stops it;
#   3. node 6 starts (no --bootstrap: a new machine recovers its floor) and an
#      operator adds it (`dmutexctl members add`);
#   3b. node 7, whose address is in nobody's --members, starts with --join:
#      it waits until an operator adds it (`members add` of a new address
#      binds it to the next spare id), then recovers and serves;
#   4. node 4 is killed -9 and restarted at once with its data;
#   5. node 3 is killed -9, SWIM removes it, it restarts and SWIM adds it back;
#   6. node 5 restarts with its data, epochs later: it catches up (and learns
#      node 7's address, added while it was down, from its peers), stays out
#      of the view (SWIM does not take it back), and an operator adds it.
# Then every live node must agree on one epoch with members 1, 2, 3, 4, 6, 7, be
# granted again, and the shared critical-section log must show no overlap and
# strictly increasing tokens. Bounded: every wait has a limit, every client
# loop a count; about 30-40 s.
. "$(dirname "$0")/net-lib.sh"

cluster_init 6 "policy = epoch" "reconfig_delay = 500ms" "rejoin_delay = 3s" \
    "reconfig_interval = 500ms"
for i in 1 2 3 4 5; do start_node $i; done
for i in 1 2 3 4 5; do wait_alive $i 5; done
CS_LOG=$T/cs.log; export CS_LOG
: > "$CS_LOG"

epoch_of() { ctl "$1" status 2>/dev/null | sed -n 's/^epoch \([0-9]*\) members \([0-9]*\).*/\1 \2/p'; }
want_config() {   # the addresses of the node numbers given, in id order
    for j in "$@"; do eval "printf '%s ' \"\$ADDR$j\""; done | sed 's/ $//'
}
# wait_config I NODES...: node I has installed the configuration of NODES (20 s).
wait_config() {
    i=$1; shift
    want=$(want_config "$@")
    k=0
    while [ $k -lt 200 ]; do
        [ "$(config_of "$i")" = "$want" ] && return 0
        k=$((k + 1)); sleep 0.1
    done
    fail "node $i: configuration '$(config_of "$i")', not '$want' (nodes $*)"
}

# A critical section that ends (and says so) when the lock is lost: at a
# configuration change every holder of the old epoch loses its lock, and
# dmutexctl then sends the command SIGTERM; the next epoch grants nothing for
# a lease, so the "end" written on the way out still comes first.
CS_OPS='trap "echo \"end $DMUTEX_FENCING_TOKEN $(date +%s%N) $WHO lost\" >> \"$CS_LOG\"; exit 1" TERM
echo "start $DMUTEX_FENCING_TOKEN $(date +%s%N) $WHO" >> "$CS_LOG"; sleep 0.02
trap "" TERM; echo "end $DMUTEX_FENCING_TOKEN $(date +%s%N) $WHO" >> "$CS_LOG"'
# client I: lock L through node I until $T/stop.I exists (at most 400 tries).
# --kill-after 1: the normal "end" is written deaf to SIGTERM, and the
# default grace (half the lost margin: 50 ms at this 1 s lease) can SIGKILL
# the shell before it is written, which the log check would take for an
# overlap; the next epoch grants nothing for a lease anyway.
client() {
    k=0
    while [ ! -f "$T/stop.$1" ] && [ $k -lt 400 ]; do
        WHO=n$1 ctl "$1" lock L --timeout 2 --kill-after 1 -- sh -c "$CS_OPS" >/dev/null 2>&1 &&
            echo x >> "$T/granted.$1"
        k=$((k + 1)); sleep 0.05
    done
}
start_client() { rm -f "$T/stop.$1"; client "$1" & eval "CPID$1=$!"; PIDS="$PIDS $!"; }
stop_client() { touch "$T/stop.$1"; eval "wait \$CPID$1"; }

# 1. The spare never came up: SWIM's DEAD removes it.
wait_config 1 1 2 3 4 5
ok "SWIM removed the spare that never started: $(epoch_of 1) (epoch, members)"
for i in 1 2 3 4 5; do start_client $i; done

# 2. Shrink: remove node 5, then stop it.
out=$(ctl 2 members remove "$ADDR5") || fail "members remove $ADDR5: $out"
case $out in "epoch "*" members 4") ;; *) fail "members remove printed '$out'" ;; esac
ok "members remove $ADDR5 at node 2: $out"
ctl 1 members remove "$ADDR5" 2>"$T/err" && fail "a second removal of $ADDR5 succeeded"
grep -q EINVAL "$T/err" || fail "a second removal did not say why: $(cat "$T/err")"
ctl 1 members remove 127.0.0.1:1 2>"$T/err" && fail "removal of an unknown address succeeded"
grep -q EPEER "$T/err" || fail "removal of an unknown address: $(cat "$T/err")"
wait_config 5 1 2 3 4
ctl 5 status | grep -q '^epoch .* not-a-member' || fail "node 5 does not say it was removed"
grep -q "not a member of configuration" "$T/log.5" || fail "node 5 did not log its removal"
stop_client 5
kill "$PID5"; wait "$PID5" 2>/dev/null
ok "node 5 says it is no member any more, and was stopped"
ctl 1 members remove "$ADDR4" >/dev/null || fail "shrinking to 3 failed"
ctl 1 members remove "$ADDR3" 2>"$T/err" && fail "a removal below reconfig_min_size succeeded"
grep -q ETOOFEW "$T/err" || fail "removal below the minimum: $(cat "$T/err")"
ctl 1 members add "$ADDR4" >/dev/null || fail "adding node 4 back failed"
ok "below the minimum size refused: $(cat "$T/err")"

# 3. Grow: a new machine (no --bootstrap: it recovers its floor first).
STARTED="${STARTED}6 "
start_node 6
start_client 6
k=0
until ctl 6 status | grep -q '^recovery ready'; do
    k=$((k + 1)); [ $k -lt 100 ] || fail "node 6 did not finish its recovery"; sleep 0.1
done
members_add 1 "$ADDR6" 5   # its recovery may bump the epoch once: EBUSY, then again
out=$OUT
wait_config 6 1 2 3 4 6
ok "members add $ADDR6: $out, and node 6 installed it"

# 3b. A new machine at an address nobody was configured with: --join.
ADDR7=127.0.0.1:$(free_ports 1)
"$DMUTEXD" --id "$ADDR7" --join "$ADDR2,$ADDR1" --policy epoch --config "$CONF" \
    --data-dir "$T/data7" --control "$T/c7.sock" --log-level info >> "$T/log.7" 2>&1 &
PID7=$!; PIDS="$PIDS $!"
k=0
until grep -q "joining: asking" "$T/log.7"; do
    k=$((k + 1)); [ $k -lt 50 ] || fail "node 7 did not start joining"; sleep 0.1
done
sleep 0.6   # it asks, is answered, and is bound to nothing yet
ctl 7 status > "$T/st7" 2>&1 || fail "node 7's control socket does not answer while it joins: $(cat "$T/st7")"
grep -q "^joining $ADDR7 state=waiting-for-add " "$T/st7" || fail "node 7's STATUS while joining: $(cat "$T/st7")"
grep -q "^hint run \`dmutexctl members add $ADDR7\` at a member" "$T/st7" || fail "no hint: $(cat "$T/st7")"
grep -q '^self ' "$T/st7" && fail "node 7 serves before any configuration binds it"
members_add 1 "$ADDR7" 6
out=$OUT
k=0
until ctl 7 status 2>/dev/null | grep -q '^self '; do
    k=$((k + 1)); [ $k -lt 100 ] || fail "node 7 did not start after it was bound"; sleep 0.1
done
grep -q "joined: $ADDR7 is id 6 of 10" "$T/log.7" || fail "node 7 did not log its id: $(grep joined "$T/log.7")"
start_client 7
for i in 1 2 6 7; do wait_config $i 1 2 3 4 6 7; done
# JOIN frames are input like any other: a malformed one is counted and logged.
garbage() { ctl 1 metrics | sed -n 's/^dmutex_bad_input_total{kind="garbage"} //p'; }
[ "$(garbage)" = 0 ] || fail "node 1 counted garbage before any was sent: $(garbage)"
python3 - "${ADDR1#*:}" <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(struct.pack(">IBB", 20, 2, 0xd1) + b"\x05\x09\x01127.0.0.1:1", ("127.0.0.1", int(sys.argv[1])))  # members > max
s.sendto(struct.pack(">IBB", 7, 2, 0xd0) + b"x", ("127.0.0.1", int(sys.argv[1])))              # JOIN with a body
PY
k=0
until [ "$(garbage)" = 2 ]; do
    k=$((k + 1)); [ $k -lt 50 ] || fail "node 1 counted $(garbage) garbage frames, not the 2 bad join frames"
    sleep 0.1
done
grep -q 'bad input (garbage): udp: JOIN_ENTRY with ids out of range' "$T/log.1" ||
    fail "node 1 did not log the malformed join entry"
ok "members add $ADDR7 (a new address, node started with --join): $out; node 7 installed it"

# 4. kill -9 node 4 and restart it at once with its data.
stop_client 4
kill -9 "$PID4"; wait "$PID4" 2>/dev/null
start_node 4
start_client 4
ok "node 4 killed -9 and restarted"

# 5. kill -9 node 3: SWIM removes it; restarted, SWIM adds it back.
stop_client 3
kill -9 "$PID3"; wait "$PID3" 2>/dev/null
wait_config 1 1 2 4 6 7
ok "SWIM removed the dead node 3: $(epoch_of 1)"
start_node 3
start_client 3
for i in 1 2 3 4 6 7; do wait_config $i 1 2 3 4 6 7; done
ok "node 3 taken back by SWIM after rejoin_delay"

for i in 1 2 3 4 6 7; do stop_client $i; done
E=$(epoch_of 1)
for i in 1 2 3 4 6 7; do
    [ "$(epoch_of $i)" = "$E" ] || fail "node $i is in $(epoch_of $i), node 1 in $E"
    ctl $i members | head -n 1 | grep -q "^epoch ${E% *} quorum_system " ||
        fail "node $i: members does not show epoch ${E% *}"
    WHO=n$i ctl $i lock L --timeout 10 -- sh -c "$CS_OPS" || fail "node $i not granted at the end"
done
ok "every live node in epoch/members $E and granted at the end"
for i in 1 2 3 4 6 7; do
    [ -s "$T/granted.$i" ] || fail "the client on node $i was never granted"
done
check_cs_log "$CS_LOG" || fail "critical sections overlap or tokens out of order"
ok "$(grep -c '^start' "$CS_LOG") critical sections ($(cat "$T"/granted.* | wc -l) by the clients), none overlapping, tokens increasing"

# 6. Node 5, removed in epoch 3, restarts with its data several epochs later:
# it catches up from its peers, knows it is no member and stays out of the
# view, so SWIM does not take it back (rejoin_delay passes); an operator's
# add does, and then it serves.
start_node 5
k=0
until [ "$(epoch_of 5 | cut -d' ' -f1)" = "${E% *}" ]; do
    k=$((k + 1)); [ $k -lt 100 ] || fail "node 5 did not catch up to epoch ${E% *}: $(epoch_of 5)"
    sleep 0.1
done
ctl 5 status | grep -q '^epoch .* not-a-member' || fail "node 5 restarted: does not say it is no member"
grep -q "staying out of the cluster's view" "$T/log.5" || fail "node 5 did not log that it stays out"
ok "node 5, removed in epoch 3, restarted with its data, caught up to epoch ${E% *}: no member"
sleep 4   # > rejoin_delay
[ "$(epoch_of 1)" = "$E" ] || fail "node 5 was taken back without an operator: $(epoch_of 1)"
out=$(ctl 3 members add "$ADDR5") || fail "members add $ADDR5 (removed, restarted): $out"
for i in 1 2 3 4 5 6 7; do wait_config $i 1 2 3 4 5 6 7; done
wait_alive 1 7
WHO=n5 ctl 5 lock L --timeout 10 -- sh -c "$CS_OPS" || fail "node 5 not granted after it was added back"
check_cs_log "$CS_LOG" || fail "critical sections overlap or tokens out of order at the end"
grep -q "learnt from .*: id 6 is $ADDR7" "$T/log.5" ||
    fail "node 5 (down when node 7 was added) did not learn node 7's address"
ok "not taken back by SWIM in 4 s; members add: $out; node 5 back in the view and granted (it learnt node 7's address from its peers)"
echo "net-epoch-ops: 1 passed, 0 failed"
