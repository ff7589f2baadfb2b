#!/bin/sh
# tests/net-epoch-join-key.sh -- `dmutexd --join` on a cluster with a key
# (key_file): the JOIN exchange is sealed with the cluster keyring
# (net/join.h). Four members run with the key; node 4 stops; then
#   1. a joiner with a wrong key asks: every member refuses its JOINs,
#      counts them under `auth` and logs "frames from PEER fail
#      authentication"; even after an operator adds its address it is never
#      bound (no authenticated answer reaches it) and never serves;
#   2. stopped, the same address joins with the right key: it learns its id
#      (a spare id, beyond --members), installs the configuration, and its
#      ordinary authenticated frames (and HELLOs) under that id are taken:
#      it is granted the lock, and every member agrees on the configuration;
#   3. node 4, down while the joiner's address was added, restarts, catches
#      up (learning that address) and is granted among the five;
#   4. the joined node restarts as its service unit would after the first
#      start, without --join (and without --members): its DIR/bindings names
#      the members and its id, so it serves and is granted; a node whose data
#      directory names nothing is told to give --members or --join.
# Bounded: every wait has a limit; about 12 s.
. "$(dirname "$0")/net-lib.sh"

KEY=$T/cluster.key
WRONG=$T/wrong.key
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$KEY"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$WRONG"
cluster_init 4 "policy = epoch" "quorum = majority" "key_file = $KEY" "reconfig_delay = 60s" "reconfig_interval = 500ms"
for i in 1 2 3 4; do start_node $i; done
for i in 1 2 3 4; do wait_alive $i 4; done
kill "$PID4"; wait "$PID4" 2>/dev/null
grep -q "frames authenticated" "$T/log.1" || fail "key not in use"

auth_bad() { ctl "$1" metrics | sed -n 's/^dmutex_bad_input_total{kind="auth"} //p'; }
[ "$(auth_bad 1)" = 0 ] || fail "node 1 counted authentication failures before any: $(auth_bad 1)"
ADDR5=127.0.0.1:$(free_ports 1)
joiner() {   # joiner KEYFILE: node 5 starts with --join
    "$DMUTEXD" --id "$ADDR5" --join "$ADDR1,$ADDR2" --config "$CONF" --key-file "$1" \
        --data-dir "$T/data5" --control "$T/c5.sock" --log-level info >> "$T/log.5" 2>&1 &
    PID5=$!; PIDS="$PIDS $!"
}

# 1. The wrong key.
joiner "$WRONG"
k=0
until grep -q "frames from $ADDR5 fail authentication: check the key file" "$T/log.1"; do
    k=$((k + 1)); [ $k -lt 50 ] || fail "node 1 did not log the joiner's failing JOINs"; sleep 0.1
done
[ "$(auth_bad 1)" -gt 0 ] || fail "node 1 did not count the joiner's JOINs under auth"
members_add 1 "$ADDR5" 5
out=$OUT
k=0   # more rounds of JOINs, all refused: the joiner says none is answered
until grep -q "join: no member has answered in 5 s: .*key_file" "$T/log.5"; do
    k=$((k + 1)); [ $k -lt 80 ] || fail "the joiner with a wrong key did not say it is not answered"
    sleep 0.1
done
grep -q "joined:" "$T/log.5" && fail "the joiner with a wrong key was bound: $(grep joined: "$T/log.5")"
# Its control socket says it is joining and unanswered, and refuses locks.
ctl 5 status > "$T/st5" || fail "the joiner's control socket does not answer STATUS"
grep -q "^joining $ADDR5 state=unanswered asking=$ADDR1,$ADDR2 " "$T/st5" ||
    fail "the joiner's STATUS: $(cat "$T/st5")"
grep -q "^hint no member has answered yet: .*key_file" "$T/st5" || fail "no hint: $(cat "$T/st5")"
grep -q '^self ' "$T/st5" && fail "the joiner with a wrong key serves"
ctl 5 status --json | grep -q '"state": "unanswered"' || fail "the joiner's JSON STATUS: $(ctl 5 status --json)"
ctl 5 lock L --timeout 1 -- true 2>"$T/err" && fail "the joiner granted a lock"
grep -q "ENOTMEMBER $ADDR5 is not a member yet" "$T/err" || fail "the joiner's lock refusal: $(cat "$T/err")"
kill "$PID5"; wait "$PID5" 2>/dev/null
grep -q "stopped by signal" "$T/log.5" || fail "the joiner did not say why it stopped"
[ -e "$T/c5.sock" ] && fail "the joiner left its control socket behind"
ok "a joiner with a wrong key: refused ($(auth_bad 1) auth failures at node 1, logged), never bound even after members add ($out); its STATUS: $(head -n 1 "$T/st5" | cut -d' ' -f3)"

# An unsealed JOIN (as from a joiner without key_file) is refused the same way.
before=$(auth_bad 3)
python3 - "${ADDR3#*:}" <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(struct.pack(">IBB", 6, 2, 0xd0), ("127.0.0.1", int(sys.argv[1])))
PY
k=0
until grep -q "fail authentication: check the key file (an unsealed join frame" "$T/log.3"; do
    k=$((k + 1)); [ $k -lt 50 ] || fail "node 3 did not log the unsealed JOIN"; sleep 0.1
done
[ "$(auth_bad 3)" -gt "$before" ] || fail "node 3 did not count the unsealed JOIN under auth"
ok "an unsealed JOIN refused, counted under auth and logged"

# 2. The right key, same address: bound to the id the add gave it.
joiner "$KEY"
k=0
until ctl 5 status 2>/dev/null | grep -q '^self '; do
    k=$((k + 1)); [ $k -lt 100 ] || fail "node 5 did not start with the right key: $(tail -3 "$T/log.5")"
    sleep 0.1
done
grep -q "joined: $ADDR5 is id 4 of 8" "$T/log.5" || fail "node 5's id: $(grep joined "$T/log.5")"
want="$ADDR1 $ADDR2 $ADDR3 $ADDR4 $ADDR5"
for i in 1 2 3 5; do wait_config_is $i "$want"; done
ctl 5 lock L --timeout 10 -- true || fail "node 5 (joined with the key) not granted"
for i in 1 2 3; do ctl $i lock L --timeout 10 -- true || fail "node $i not granted after the join"; done
grep -q "fail authentication" "$T/log.5" && fail "node 5's frames fail authentication somewhere"
for i in 1 2 3; do
    n=$(ctl $i metrics | sed -n 's/^dmutex_bad_input_total{kind="replay"} //p')
    [ "${n:-0}" = 0 ] || fail "node $i refused $n frames as replays or stale"
done
ok "the right key at $ADDR5: id 4 of 8, configuration installed everywhere, node 5 and every member granted"

# 3. Node 4 missed the epoch that bound node 5's address.
start_node 4
# A lock through it meets the later epoch at its peers: it catches up.
ctl 4 lock L --timeout 10 -- true >/dev/null 2>&1
k=0
until grep -q "id 4 is $ADDR5" "$T/log.4"; do
    k=$((k + 1)); [ $k -lt 100 ] || fail "node 4 did not learn node 5's address"; sleep 0.1
done
wait_config_is 4 "$want"
ctl 4 lock L --timeout 10 -- true || fail "node 4 not granted after its restart"
for i in 1 2 3 4 5; do
    # nodes 1 and 2 counted the wrong-key JOINs, node 3 the unsealed one
    [ "$(auth_bad $i)" = 0 ] || [ $i -le 3 ] || fail "node $i counted auth failures: $(auth_bad $i)"
done
ok "node 4 restarted, caught up, knows $ADDR5 (id 4) and is granted"

# 4. The joined node restarts without --join: the address table in its data
# directory says who the members are and that it is id 4.
kill "$PID5"; wait "$PID5" 2>/dev/null
grep -qx "members=4" "$T/data5/bindings" || fail "node 5's table lists no members: $(cat "$T/data5/bindings")"
"$DMUTEXD" --id "$ADDR5" --config "$CONF" --data-dir "$T/data5" --control "$T/c5.sock" \
    --log-level info >> "$T/log.5" 2>&1 &
PID5=$!; PIDS="$PIDS $!"
k=0
until ctl 5 status 2>/dev/null | grep -q '^self '; do
    k=$((k + 1)); [ $k -lt 50 ] || fail "node 5 did not restart without --join: $(tail -3 "$T/log.5")"
    sleep 0.1
done
grep -q "restarting from $T/data5/bindings: $ADDR5 is id 4" "$T/log.5" ||
    fail "node 5 did not say it restarted from its table"
ctl 5 lock L --timeout 10 -- true || fail "node 5, restarted without --join, not granted"
for i in 1 2 3 4; do ctl $i lock L --timeout 10 -- true || fail "node $i not granted after node 5's restart"; done
"$DMUTEXD" --id "$ADDR5" --config "$CONF" --data-dir "$T/data-none" --control "$T/c6.sock" 2>"$T/err" &&
    fail "a node with neither --members, --join nor a table started"
grep -q -- "--join HOST:PORT,... (running members) and run \`dmutexctl members add $ADDR5\`" "$T/err" ||
    fail "no members: the error does not say what to do: $(cat "$T/err")"
ok "node 5 restarted without --join (its table: $(grep -c = "$T/data5/bindings") lines), granted; without a table: told to give --members or --join"
echo "net-epoch-join-key: 1 passed, 0 failed"
