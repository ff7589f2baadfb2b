#!/bin/sh
# tests/net-notify.sh -- dmutexd's readiness notification (net/sdnotify.h),
# as systemd's Type=notify sees it, without systemd: a datagram socket is
# bound at a path or in the abstract namespace and passed in NOTIFY_SOCKET.
#  - READY=1 arrives, and when it does the control socket already answers
#    (dmutexctl status): "ready" means dmutexctl works;
#  - its STATUS= says serving for a --bootstrap start, recovering for a
#    start without state whose peers are not there;
#  - SIGTERM brings STOPPING=1 and exit 0;
#  - the sample config (dist/dmutex.conf) is read without error.
# Every wait is bounded (10 s).
. "$(dirname "$0")/net-lib.sh"
SRC=${DM_TOP_SRCDIR:-$(dirname "$0")/..}

run_case() {
    # run_case NAME NOTIFY_ADDR WANT_STATUS_WORD THEN [dmutexd options...]:
    # THEN (or "-") is the word a later STATUS= must start with.
    name=$1 addr=$2 want=$3 then=$4; shift 4
    python3 - "$addr" "$want" "$then" "$DMUTEXD" "$DMUTEXCTL" "$T/$name.sock" "$@" > "$T/log.$name" 2>&1 <<'PY'
import os, signal, socket, subprocess, sys, time
addr, want, then, dmutexd, dmutexctl, control = sys.argv[1:7]
args = sys.argv[7:]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + addr[1:] if addr.startswith("@") else addr)
s.settimeout(10)
env = dict(os.environ, NOTIFY_SOCKET=addr)
p = subprocess.Popen([dmutexd, "--control", control, "--log-level", "info"] + args, env=env)
def fail(msg):
    print("FAIL:", msg)
    p.kill(); p.wait()
    sys.exit(1)
def recv():
    try:
        return s.recv(4096).decode()
    except socket.timeout:
        fail("no notification within 10 s")
msg = recv()
print("got:", repr(msg))
fields = dict(l.split("=", 1) for l in msg.split("\n") if "=" in l)
if fields.get("READY") != "1":
    fail("first notification is not READY=1: %r" % msg)
if not fields.get("STATUS", "").startswith(want):
    fail("STATUS= does not start with %r: %r" % (want, msg))
# Ready means the control socket serves: no retry here.
r = subprocess.run([dmutexctl, "--control", control, "status"], capture_output=True, timeout=10)
if r.returncode != 0:
    fail("dmutexctl status right after READY=1: exit %d %s" % (r.returncode, r.stderr))
print("status:", r.stdout.decode().strip()[:200])
if then != "-":
    m = recv()
    print("got:", repr(m))
    if not m.startswith("STATUS=" + then):
        fail("the next notification is not STATUS=%s...: %r" % (then, m))
p.send_signal(signal.SIGTERM)
deadline = time.time() + 10
while True:
    m = recv()
    print("got:", repr(m))
    if "STOPPING=1" in m.split("\n"):
        break
    if time.time() > deadline:
        fail("no STOPPING=1")
try:
    rc = p.wait(timeout=10)
except subprocess.TimeoutExpired:
    fail("dmutexd did not exit within 10 s of SIGTERM")
if rc != 0:
    fail("dmutexd exit %d after SIGTERM" % rc)
print("ok")
PY
    rc=$?
    cat "$T/log.$name"
    [ "$rc" -eq 0 ] || fail "$name"
    ok "$name"
}

set -- $(free_ports 3)
A=127.0.0.1:$1 B=127.0.0.1:$2 C=127.0.0.1:$3
run_case path-bootstrap "$T/notify.sock" serving - \
    --config "$SRC/dist/dmutex.conf" --id "$A" --members "$A,$B,$C" --data-dir "$T/d1" --bootstrap
run_case abstract-recovering "@dmutex-notify-test-$$" recovering - \
    --id "$A" --members "$A,$B,$C" --data-dir "$T/d2" --set lease=2s --set rpc_timeout=250ms
# A restart with its state waits out one lease, then says it serves.
run_case restart-quiet "$T/notify2.sock" "recovering: waiting" serving \
    --id "$A" --members "$A,$B,$C" --data-dir "$T/d1" --set lease=1s --set rpc_timeout=250ms

# A NOTIFY_SOCKET nobody listens on: a warning, not a failure to start.
NOTIFY_SOCKET=$T/nobody.sock "$DMUTEXD" --id "$A" --members "$A" --control "$T/n.sock" \
    --bootstrap > "$T/log.nobody" 2>&1 &
P=$!; PIDS="$PIDS $P"
k=0; while [ $k -lt 50 ] && ! "$DMUTEXCTL" --control "$T/n.sock" status >/dev/null 2>&1; do
    sleep 0.1; k=$((k + 1)); done
"$DMUTEXCTL" --control "$T/n.sock" status >/dev/null 2>&1 || fail "no control socket with a dead NOTIFY_SOCKET"
grep -q "cannot notify" "$T/log.nobody" || fail "no warning about the dead NOTIFY_SOCKET"
kill "$P"; wait "$P" || fail "exit status after SIGTERM"
ok "a dead NOTIFY_SOCKET is a warning"
