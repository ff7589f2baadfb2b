#!/bin/sh
# tests/net-lease.sh -- the client enforces the lease. The holder's dmutexd
# is stopped (SIGSTOP) while `dmutexctl lock L -- CMD` runs a command that
# appends to a shared log: dmutexctl, by its own clock and the deadline the
# daemon last sent (OK / ! RENEWED), stops the command -- SIGTERM, then
# SIGKILL after --kill-after -- with the daemon still stopped, before another
# node's client is granted L (lost_margin leaves it the time). Twice: a
# command that exits on SIGTERM (its last line is its "end"), and one that
# ignores SIGTERM and is killed. The log must show every line of a holder
# before the next holder's first, and strictly increasing tokens.
. "$(dirname "$0")/net-lib.sh"

# Holder trusts 3 s less 2 % drift less the 1 s margin: 1.94 s; renewals
# every 0.65 s. --kill-after 0.3 s fits in the margin.
cluster_init 5 "lease = 3s" "lost_margin = 1s"
for i in 1 2 3 4 5; do start_node $i; done
for i in 1 2 3 4 5; do wait_alive $i 5; done
LOG=$T/shared.log
: > "$LOG"

# A command that logs "start", then a "tick" every 50 ms; on SIGTERM it logs
# "end" and exits (TRAP=exit) or carries on (TRAP=ignore).
# Lines are "WHAT TOKEN NANOSECONDS WHO".
TICKER='tok=$DMUTEX_FENCING_TOKEN
if [ "$TRAP" = ignore ]; then trap "" TERM; else trap "echo end $tok \$(date +%s%N) $WHO >> \"$LOG\"; exit 0" TERM; fi
echo "start $tok $(date +%s%N) $WHO" >> "$LOG"
n=0; while [ $n -lt 600 ]; do echo "tick $tok $(date +%s%N) $WHO" >> "$LOG"; sleep 0.05; n=$((n + 1)); done'
# The second holder: start, one line, end.
SHORT='echo "start $DMUTEX_FENCING_TOKEN $(date +%s%N) $WHO" >> "$LOG"; echo "end $DMUTEX_FENCING_TOKEN $(date +%s%N) $WHO" >> "$LOG"'
export LOG

# check_log: every line names a token; a token's lines are contiguous (none
# after the next holder's start) and tokens strictly increase.
check_log() {
    awk '
        { if ($2 != cur) { if ($1 != "start") { print "line of token " $2 " outside its section: " $0; bad = 1 }
                           if ($2 + 0 <= cur + 0) { print "token not increasing: " $2 " after " cur; bad = 1 }
                           if (cur != "") done[cur] = 1
                           cur = $2; n++ }
          if (done[$2]) { print "written after the next holder started: " $0; bad = 1 } }
        END { print n " holders"; exit bad }' "$LOG"
}

# gap HOLDER OTHER: ms from HOLDER's last line to OTHER's first (informational).
gap() {
    awk -v h="n$1" -v o="n$2" '$4 == h { last = $3 } $4 == o && !first { first = $3 }
        END { printf "%.0f", (first - last) / 1e6 }' "$LOG"
}

# phase TRAP HOLDER OTHER: HOLDER runs the ticker, its daemon is stopped,
# OTHER locks L; HOLDER's dmutexctl must have stopped the ticker by itself.
phase() {
    trap_mode=$1 h=$2 o=$3
    before=$(wc -l < "$LOG")
    TRAP=$trap_mode WHO=n$h ctl "$h" lock L --timeout 10 --kill-after 0.3 -- sh -c "$TICKER" \
        > "$T/ctl$h.$trap_mode" 2>&1 &
    ctlpid=$!
    k=0; while ! tail -n +"$((before + 1))" "$LOG" | grep -q "^start .* n$h\$" && [ $k -lt 100 ]; do
        sleep 0.1; k=$((k + 1)); done
    [ $k -lt 100 ] || fail "node $h never ran its command"
    sleep 1    # some renewals first
    eval "hpid=\$PID$h"
    kill -STOP "$hpid"
    WHO=n$o ctl "$o" lock L --timeout 20 -- sh -c "$SHORT" \
        || { kill -CONT "$hpid"; fail "node $o did not get L while node $h was stopped"; }
    # dmutexctl of the holder ended while its daemon was still stopped.
    kill -0 "$ctlpid" 2>/dev/null && { kill -CONT "$hpid"; fail "node $h's dmutexctl still runs"; }
    wait "$ctlpid"; rc=$?
    kill -CONT "$hpid"
    [ "$rc" -eq 1 ] || fail "node $h's dmutexctl exited $rc, want 1"
    grep -q "ran out by our clock" "$T/ctl$h.$trap_mode" || { cat "$T/ctl$h.$trap_mode";
        fail "node $h's dmutexctl did not say the lease ran out by its clock"; }
    check_log || { cat "$LOG"; fail "the shared log shows an overlap ($trap_mode)"; }
}

phase exit 3 1
grep -q "^end .* n3\$" "$LOG" || fail "the command did not log its end on SIGTERM"
ok "SIGTERM: node 3's command ended (its last line written) $(gap 3 1) ms before node 1's first line"

phase ignore 2 4
grep -q "SIGKILL" "$T/ctl2.ignore" || { cat "$T/ctl2.ignore"; fail "no SIGKILL for a command that ignores SIGTERM"; }
ok "SIGKILL: node 2's command, which ignores SIGTERM, was killed $(gap 2 4) ms before node 4's first line"

# The renewals reach the client: a short hold sees at least one RENEWED.
python3 - "$T/c5.sock" <<'PY' || fail "no ! RENEWED on the control protocol"
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(5)
s.sendall(b"LOCK R 5000\n"); buf = b""; t0 = time.monotonic()
while b"! RENEWED R " not in buf and time.monotonic() - t0 < 5:
    buf += s.recv(4096)
ok = buf.split(b"\n")[0].split()
assert ok[0] == b"OK" and len(ok) >= 5, buf
ren = [l for l in buf.split(b"\n") if l.startswith(b"! RENEWED R ")][0].split()
assert int(ren[5]) > int(ok[3]), buf          # the deadline moved on
assert int(ok[3]) > time.monotonic_ns() // 1000, buf   # CLOCK_MONOTONIC, in the future
PY
ok "OK and ! RENEWED carry a CLOCK_MONOTONIC deadline that moves on"
echo "net-lease: 3 passed, 0 failed"
