#!/bin/sh
# tests/net-cli.sh -- the command line as a shell user meets it, and the
# library from a C program:
#  - dmutexctl exit statuses: 0 ok, 1 lock failed/timed out/not held,
#    2 usage, 3 daemon unreachable, the command's own status (127 when it
#    cannot be found), DMUTEX_FENCING_TOKEN/DMUTEX_LOCK_NAME in its
#    environment; a lock is released when its client goes away; local
#    clients of one daemon queue for a name; lock --try (TRYLOCK) fails
#    with exit 1 (or --held-exit's) well within its timeout while another
#    node's or this daemon's client holds the name, and succeeds once it is
#    released; a TRYLOCK with bad arguments is ERR EPROTO, counted as
#    `control` bad input;
#  - dmutexd: bad options exit 2 with a message; a corrupt state file exits
#    1 naming the file;
#  - tests/net_api_example (libdmutex) joins two dmutexd as the third member.
. "$(dirname "$0")/net-lib.sh"

expect() {   # expect STATUS DESCRIPTION COMMAND...
    want=$1; what=$2; shift 2
    "$@" > "$T/out" 2> "$T/err"; rc=$?
    [ "$rc" -eq "$want" ] || { cat "$T/out" "$T/err"; fail "$what: exit $rc, want $want"; }
    ok "$what: exit $rc"
}

# dmutexd option errors.
expect 2 "dmutexd unknown option" "$DMUTEXD" --frobnicate
expect 2 "dmutexd without --id" "$DMUTEXD" --members 127.0.0.1:1
expect 2 "dmutexd --id not a member" "$DMUTEXD" --id 127.0.0.1:2 --members 127.0.0.1:1
expect 2 "dmutexd bad policy" "$DMUTEXD" --id 127.0.0.1:1 --members 127.0.0.1:1 --policy raft
expect 2 "dmutexd bad address" "$DMUTEXD" --id nope --members nope
printf '[dmutex]\nlease = soon\n' > "$T/bad.conf"
expect 2 "dmutexd bad config value" "$DMUTEXD" --id 127.0.0.1:1 --members 127.0.0.1:1 --config "$T/bad.conf"
printf '[dmutex]\nleese = 1s\n' > "$T/bad.conf"
expect 2 "dmutexd unknown config key" "$DMUTEXD" --id 127.0.0.1:1 --members 127.0.0.1:1 --config "$T/bad.conf"
printf 'short' > "$T/short.key"
expect 2 "dmutexd short key" "$DMUTEXD" --id 127.0.0.1:1 --members 127.0.0.1:1 --key-file "$T/short.key"
grep -q "at least 16 bytes" "$T/err" || fail "no clear message for a short key"
expect 2 "dmutexd lost_margin above half the lease" "$DMUTEXD" --id 127.0.0.1:1 --members 127.0.0.1:1 \
    --set lease=1s --set lost_margin=600ms
grep -q "core.lost_margin (600ms) must be at most half" "$T/err" || fail "no clear message for a lost_margin too large"
# Each rule between timing keys refuses its bad setting by name (core/confkeys.c).
bad_rule() {
    rule=$1; shift
    expect 2 "dmutexd breaking '$rule'" "$DMUTEXD" --id 127.0.0.1:1 --members 127.0.0.1:1 "$@"
    grep -qF "(rule '$rule')" "$T/err" || { cat "$T/err"; fail "no rule '$rule' in the error"; }
}
bad_rule "lost_margin <= lease/2" --set lease=1s --set rpc_timeout=100ms --set lost_margin=50%
bad_rule "lease >= 4 x rpc_timeout" --set lease=100ms --set rpc_timeout=5s
bad_rule "lease >= 4 x rto_min" --set lease=1s --set rpc_timeout=100ms --set rto_min=300ms
bad_rule "probe_timeout < probe_interval" --set swim.probe_timeout=1s
bad_rule "policy needs swim" --policy memberlist --set swim.enabled=false

# dmutexctl without a daemon, and usage errors.
expect 3 "dmutexctl, no daemon" "$DMUTEXCTL" --control "$T/none.sock" status
expect 3 "dmutexctl lock, no daemon" "$DMUTEXCTL" --control "$T/none.sock" lock x -- true
expect 2 "dmutexctl no command" "$DMUTEXCTL" --control "$T/none.sock"
# dmutex-bench: a bad option is a usage error in every mode (it once ran
# the benchmark with no control path).
expect 2 "dmutex-bench unknown option" "$BIN/dmutex-bench" --bogus
expect 2 "dmutex-bench bad number" "$BIN/dmutex-bench" --cycles x
expect 2 "dmutex-bench without --control" "$BIN/dmutex-bench" --cycles 5
expect 2 "dmutexctl unknown command" "$DMUTEXCTL" --control "$T/none.sock" frob
expect 2 "dmutexctl lock without name" "$DMUTEXCTL" --control "$T/none.sock" lock
expect 2 "dmutexctl bad --kill-after" "$DMUTEXCTL" --control "$T/none.sock" lock x --kill-after -1 -- true
expect 2 "dmutexctl bad timeout" "$DMUTEXCTL" --control "$T/none.sock" lock x --timeout -1
expect 2 "dmutexctl nothing after --" "$DMUTEXCTL" --control "$T/none.sock" lock x --
expect 2 "dmutexctl --held-exit without --try" "$DMUTEXCTL" --control "$T/none.sock" lock x --held-exit 75
expect 2 "dmutexctl bad --held-exit" "$DMUTEXCTL" --control "$T/none.sock" lock x --try --held-exit 256

cluster_init 3
start_node 1
start_node 2
for i in 1 2; do wait_alive $i 2; done

# A corrupt or empty state file stops dmutexd with a message that names the
# file and says what deleting it does.
mkdir -p "$T/bad-data"
printf 'not a state file' > "$T/bad-data/state"
expect 1 "dmutexd with a corrupt state file" "$DMUTEXD" --id "$ADDR3" --members "$MEMBERS" --config "$CONF" --data-dir "$T/bad-data"
grep -q "state file $T/bad-data/state is corrupt" "$T/err" && grep -q "Deleting it makes this node start without persisted state: it then recovers from the cluster" "$T/err" \
    || { cat "$T/err"; fail "no clear message for a corrupt state file"; }
: > "$T/bad-data/state"
expect 1 "dmutexd with an empty state file" "$DMUTEXD" --id "$ADDR3" --members "$MEMBERS" --config "$CONF" --data-dir "$T/bad-data"
grep -q "state file $T/bad-data/state is corrupt (empty)" "$T/err" || { cat "$T/err"; fail "no clear message for an empty state file"; }
C="$DMUTEXCTL --control $T/c1.sock"

expect 0 "status" $C status
grep -q '^policy ae' "$T/out" && grep -q '^counters ' "$T/out" || fail "status output"
expect 2 "status of a name starting with - without --" $C status -dash
expect 0 "status -- NAME starting with -" $C status -- -dash
grep -q '^quorum ' "$T/out" || fail "status -- -dash: no quorum line"
expect 0 "members" $C members
[ "$(wc -l < "$T/out")" -eq 3 ] || fail "members: want 3 lines"
expect 0 "lock -- true" $C lock x -- true
expect 7 "lock -- exit 7" $C lock x -- sh -c 'exit 7'
expect 127 "lock -- missing command" $C lock x -- /nonexistent/cmd
expect 0 "lock -- env" $C lock x -- sh -c 'test "$DMUTEX_LOCK_NAME" = x && test "$DMUTEX_FENCING_TOKEN" -gt 0 && echo "$DMUTEX_FENCING_TOKEN"'
TOKA=$(cat "$T/out")
expect 1 "unlock not held" $C unlock x

# A lock held by a client of node 2 (hold mode: token on stdout until SIGTERM).
"$DMUTEXCTL" --control "$T/c2.sock" lock x > "$T/hold.out" 2>&1 &
HOLD=$!
k=0; while [ ! -s "$T/hold.out" ] && [ $k -lt 50 ]; do sleep 0.1; k=$((k + 1)); done
TOKB=$(cat "$T/hold.out")
[ "$TOKB" -gt "$TOKA" ] || fail "hold mode printed '$TOKB'"
expect 1 "lock times out while held elsewhere" $C lock x --timeout 0.5 -- true
# --try: answered in about one round trip, not at the end of its timeout
# (10 s: "under half of it" is no timing test, a try that waits fails it).
ms() { echo $(( $(date +%s%N) / 1000000 )); }
t0=$(ms)
expect 1 "lock --try while held on another node" $C lock x --try --timeout 10 -- true
t1=$(ms)
grep -q "held by another holder" "$T/err" || { cat "$T/err"; fail "lock --try: no 'held' message"; }
[ $((t1 - t0)) -lt 5000 ] || fail "lock --try took $((t1 - t0)) ms of its 10 s timeout"
ok "lock --try answered in $((t1 - t0)) ms (timeout 10 s)"
expect 75 "lock --try --held-exit 75 while held" $C lock x --try --held-exit 75 --timeout 10 -- true
t0=$(ms)
expect 1 "lock --try while another session of the same daemon holds it" \
    "$DMUTEXCTL" --control "$T/c2.sock" lock x --try --timeout 10 -- true
t1=$(ms)
[ $((t1 - t0)) -lt 5000 ] || fail "lock --try at the holder's daemon took $((t1 - t0)) ms"
# ... and while another session of node 1 waits for it: a try does not
# queue behind that wait (it would last until the waiter's 20 s timeout).
"$DMUTEXCTL" --control "$T/c1.sock" lock x --timeout 20 > /dev/null 2>&1 &
WAIT=$!
k=0; while ! ctl 1 status | grep -q '^control .* names=1 '; do [ $k -lt 50 ] || fail "no waiter at node 1"; sleep 0.1; k=$((k + 1)); done
t0=$(ms)
expect 1 "lock --try while another session of the same daemon waits for it" $C lock x --try --timeout 10 -- true
t1=$(ms)
grep -q "held by another holder" "$T/err" || { cat "$T/err"; fail "lock --try behind a local waiter: no 'held' message"; }
[ $((t1 - t0)) -lt 5000 ] || fail "lock --try behind a local waiter took $((t1 - t0)) ms"
kill -INT "$WAIT"; wait "$WAIT"
# TRYLOCK with bad arguments: ERR EPROTO, counted as control bad input.
bad0=$(counter 1 control)
python3 - "$T/c1.sock" > "$T/trylock.out" <<'PY' || fail "TRYLOCK bad arguments: no answers"
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.settimeout(10); s.connect(sys.argv[1])
f = s.makefile("rb")
for line in (b"TRYLOCK x", b"TRYLOCK x 0", b"TRYLOCK x soon", b"trylock"):
    s.sendall(line + b"\n"); print(f.readline().decode().strip())
PY
[ "$(grep -c '^ERR EPROTO usage: TRYLOCK name timeout_ms' "$T/trylock.out")" -eq 4 ] || { cat "$T/trylock.out"; fail "TRYLOCK with bad arguments not answered ERR EPROTO"; }
bad1=$(counter 1 control)
[ "$bad1" -eq $((${bad0:-0} + 4)) ] || fail "TRYLOCK bad arguments: control bad input went from ${bad0:-?} to ${bad1:-?}, want +4"
ok "TRYLOCK with bad arguments: ERR EPROTO, counted as control bad input ($bad0 -> $bad1)"
ctl 2 status | grep -q "^held x token $TOKB" || fail "node 2 STATUS does not show x held"
kill -TERM "$HOLD"; wait "$HOLD"; rc=$?
[ "$rc" -eq 0 ] || fail "hold mode exit $rc after SIGTERM"
expect 0 "lock after the holder released" $C lock x --timeout 5 -- true
expect 0 "lock --try after the holder released" $C lock x --try --timeout 10 -- true
ok "hold mode: token printed, held until SIGTERM, exit 0"

# Session-tied: a client killed while holding releases the lock.
"$DMUTEXCTL" --control "$T/c2.sock" lock y > "$T/hold2.out" 2>&1 &
HOLD=$!
k=0; while [ ! -s "$T/hold2.out" ] && [ $k -lt 50 ]; do sleep 0.1; k=$((k + 1)); done
kill -9 "$HOLD"; wait "$HOLD" 2>/dev/null
expect 0 "lock after the holding client was killed" $C lock y --timeout 3 -- true

# A client interrupted while it waits: its daemon abandons the acquisition
# (dm_node_cancel) instead of finishing it for nobody.
"$DMUTEXCTL" --control "$T/c2.sock" lock iw > "$T/hold-iw.out" 2>&1 &
HOLD=$!
k=0; while [ ! -s "$T/hold-iw.out" ] && [ $k -lt 50 ]; do sleep 0.1; k=$((k + 1)); done
"$DMUTEXCTL" --control "$T/c1.sock" lock iw --timeout 20 > "$T/wait-iw.out" 2>&1 &
WAIT=$!
sleep 0.5
kill -INT "$WAIT"; wait "$WAIT"; rc=$?
[ "$rc" -ne 0 ] || fail "an interrupted wait exited 0"
k=0; while ! grep -q "abandoning the acquisition of iw" "$T/log.1" && [ $k -lt 50 ]; do sleep 0.1; k=$((k + 1)); done
grep -q "abandoning the acquisition of iw" "$T/log.1" || fail "node 1 did not abandon the acquisition of iw"
kill -TERM "$HOLD"; wait "$HOLD"
expect 0 "lock after an interrupted wait" $C lock iw --timeout 5 -- true

# Local clients of one daemon queue for a name (first come, first served).
CS_LOG=$T/local.log; export CS_LOG CS_CMD
: > "$CS_LOG"
pids=""
for w in a b c d; do
    WHO=$w "$DMUTEXCTL" --control "$T/c1.sock" lock q --timeout 20 -- sh -c "$CS_CMD" &
    pids="$pids $!"
done
for p in $pids; do wait "$p" || fail "a queued local client failed"; done
check_cs_log "$CS_LOG" || fail "local clients overlapped"
ok "4 local clients of one daemon took turns"

# Admin unlock from another session: the holder is told and exits 1.
"$DMUTEXCTL" --control "$T/c1.sock" lock z > "$T/hold3.out" 2> "$T/hold3.err" &
HOLD=$!
k=0; while [ ! -s "$T/hold3.out" ] && [ $k -lt 50 ]; do sleep 0.1; k=$((k + 1)); done
expect 0 "unlock of another session's lock" $C unlock z
wait "$HOLD"; rc=$?
[ "$rc" -eq 1 ] || fail "holder exit $rc after an admin unlock, want 1"
ok "holder told of the admin unlock (exit 1)"

# The library: a third member in this process.
EX=${DM_NET_API_EXAMPLE:-$BIN/tests/net_api_example}
if [ -x "$EX" ]; then
    # A name another member holds throughout: the example's own timeout
    # and its cancel from another thread need a lock that does not come.
    "$DMUTEXCTL" --control "$T/c2.sock" lock api-held > "$T/hold4.out" 2>&1 &
    HOLD=$!
    k=0; while [ ! -s "$T/hold4.out" ] && [ $k -lt 50 ]; do sleep 0.1; k=$((k + 1)); done
    timeout 60 "$EX" "$ADDR3" "$MEMBERS" "$CONF" "$T/api.token" api-held > "$T/api.out" 2> "$T/api.err"; rc=$?
    kill -TERM "$HOLD"; wait "$HOLD"
    cat "$T/api.out" "$T/api.err"
    [ "$rc" -eq 0 ] || fail "net_api_example exit $rc"
    # Its log handler takes the library's messages: nothing of the
    # library's reaches stderr.
    ! grep -q "dmutex-net\|dmutex-core" "$T/api.err" || fail "libdmutex wrote to stderr despite a log handler"
    TOKL=$(cat "$T/api.token")
    expect 0 "dmutexctl lock after the library's" $C lock api -- sh -c 'echo $DMUTEX_FENCING_TOKEN'
    [ "$(cat "$T/out")" -gt "$TOKL" ] || fail "token after the library's not larger"
    ok "libdmutex member interoperates with dmutexd (token $TOKL, then $(cat "$T/out"))"
else
    echo "SKIP: $EX not built"
fi
echo "net-cli: 1 passed, 0 failed"
