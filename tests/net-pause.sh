#!/bin/sh
# tests/net-pause.sh -- Kleppmann's pause: the holder's daemon is stopped
# (SIGSTOP) past its lease; another node gets the lock with a larger fencing
# token meanwhile; on SIGCONT the paused daemon reports the loss (log: LOST;
# STATUS no longer lists the lock) and its dmutexctl kills the command and
# exits 1.
. "$(dirname "$0")/net-lib.sh"

cluster_init 5
for i in 1 2 3 4 5; do start_node $i; done
for i in 1 2 3 4 5; do wait_alive $i 5; done

# Node 3 holds L while a long command runs.
ctl 3 lock L --timeout 10 -- sh -c 'echo $DMUTEX_FENCING_TOKEN > "$0"; sleep 30' "$T/held3" \
    > "$T/ctl3.out" 2>&1 &
CTL3=$!
k=0; while [ ! -s "$T/held3" ] && [ $k -lt 100 ]; do sleep 0.1; k=$((k + 1)); done
[ -s "$T/held3" ] || fail "node 3 never got the lock"
TOK3=$(cat "$T/held3")
ctl 3 status | grep -q "^held L token $TOK3 " || fail "STATUS of node 3 does not show L held"
ok "node 3 holds L with token $TOK3"

kill -STOP "$PID3"
ctl 1 lock L --timeout 15 -- sh -c 'echo $DMUTEX_FENCING_TOKEN > "$0"' "$T/held1" \
    || { kill -CONT "$PID3"; fail "node 1 did not get L while node 3 was stopped"; }
TOK1=$(cat "$T/held1")
[ "$TOK1" -gt "$TOK3" ] || { kill -CONT "$PID3"; fail "token $TOK1 not above the paused holder's $TOK3"; }
ok "node 3 stopped: node 1 held L with token $TOK1 > $TOK3"

kill -CONT "$PID3"
k=0
while kill -0 "$CTL3" 2>/dev/null && [ $k -lt 100 ]; do sleep 0.1; k=$((k + 1)); done
kill -0 "$CTL3" 2>/dev/null && fail "node 3's dmutexctl still runs 10 s after SIGCONT"
wait "$CTL3"; rc=$?
[ "$rc" -eq 1 ] || fail "node 3's dmutexctl exited $rc, want 1"
grep -q "LOST" "$T/ctl3.out" || fail "node 3's dmutexctl did not report LOST"
grep -q "lock L LOST" "$T/log.3" || fail "node 3's daemon did not log LOST"
ctl 3 status | grep -q "^held L " && fail "STATUS of node 3 still shows L held"
ok "after SIGCONT node 3 reported LOST (dmutexctl exit 1, daemon log, STATUS)"

# And the cluster goes on: node 3 itself can take L again, once its lost
# margin (10 % of the 1 s lease: a new lock of the name gets EBUSY
# meanwhile, net/README.md) has passed.
sleep 0.2
ctl 3 lock L --timeout 10 -- sh -c 'echo $DMUTEX_FENCING_TOKEN > "$0"' "$T/again3" || fail "node 3 cannot lock again"
[ "$(cat "$T/again3")" -gt "$TOK1" ] || fail "token did not increase"
ok "node 3 locks again with token $(cat "$T/again3")"
echo "net-pause: 1 passed, 0 failed"
