# tests/net-lib.sh -- helpers for the live-cluster tests (tests/net-*.sh):
# real dmutexd processes on 127.0.0.1, free ports, short timings, bounded
# waits, and a trap that stops every process a test started.
#
# Environment: DM_NET_BIN  directory holding dmutexd, dmutexctl, dmutex-bench
#              (default: the current directory, i.e. the build tree).
# Sourced, not run. Every wait is bounded; nothing here runs unbounded.

set -u

BIN=${DM_NET_BIN:-.}
DMUTEXD=$BIN/dmutexd
DMUTEXCTL=$BIN/dmutexctl
for b in "$DMUTEXD" "$DMUTEXCTL"; do
    if [ ! -x "$b" ]; then
        echo "SKIP: $b not built"
        exit 77
    fi
done
command -v python3 >/dev/null 2>&1 || { echo "SKIP: python3 needed"; exit 77; }

T=$(mktemp -d "${TMPDIR:-/tmp}/dmnet.XXXXXX")
PIDS=""
FAILED=0

cleanup() {
    for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
    for p in $PIDS; do wait "$p" 2>/dev/null; done
    if [ "$FAILED" -ne 0 ] || [ -n "${DM_NET_KEEP:-}" ]; then
        echo "logs kept in $T"
        for f in "$T"/log.*; do [ -f "$f" ] && { echo "==== $f"; tail -n 40 "$f"; }; done
    else
        rm -rf "$T"
    fi
}
trap cleanup EXIT

fail() { echo "FAIL: $*"; FAILED=1; exit 1; }
ok() { echo "ok: $*"; }

# Free ports: N distinct ports free for both TCP and UDP on 127.0.0.1.
free_ports() {
    python3 - "$1" <<'PY'
import socket, sys
n = int(sys.argv[1]); out = []; keep = []
while len(out) < n:
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.bind(("127.0.0.1", 0))
    p = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", p))
    except OSError:
        t.close(); continue
    keep += [t, u]; out.append(p)
print(" ".join(map(str, out)))
PY
}

# cluster_init N [extra config lines...]: addresses ADDR1..N (ADDRi is member
# id i-1), MEMBERS, config file. A brand-new cluster: start_node gives each
# node --bootstrap on its first start only (STARTED lists those started).
cluster_init() {
    N=$1; shift
    STARTED=" "
    # Sorted as strings, as dmutexd sorts members: node i has member id i-1
    # (ephemeral ports have five digits, so this is also numeric order).
    # NET_ADDRS, if set, lists the N addresses instead (sorted; e.g. one per
    # network namespace, tests/net-partition.sh).
    ADDRS=${NET_ADDRS:-$(free_ports "$N" | tr ' ' '\n' | sort | sed 's/^/127.0.0.1:/')}
    MEMBERS=""
    i=1
    for a in $ADDRS; do
        eval "ADDR$i=$a"
        MEMBERS="${MEMBERS:+$MEMBERS,}$a"
        i=$((i + 1))
    done
    CONF=$T/dmutex.conf
    {
        echo "[dmutex]"
        echo "lease = 1s"
        echo "rpc_timeout = 100ms"
        echo "suspect = 1s"
        echo "swim.probe_interval = 200ms"
        echo "swim.probe_timeout = 100ms"
        echo "swim.push_pull_interval = 2s"
        echo "backoff_max = 300ms"
        for l in "$@"; do echo "$l"; done
    } > "$CONF"
}

# start_node I [extra dmutexd options]: PID_I, control socket $T/cI.sock.
# The first start of node I in this cluster has --bootstrap (a new cluster
# need not wait out a lease); a restart has not, as in production, whatever
# happened to its data directory.
start_node() {
    i=$1; shift
    eval "addr=\$ADDR$i"
    case "$STARTED" in
        *" $i "*) ;;
        *) STARTED="$STARTED$i "; set -- --bootstrap "$@" ;;
    esac
    # WRAPi: a command prefix for node I (e.g. "ip netns exec NS"; it must exec).
    eval "wrap=\${WRAP$i:-}"
    $wrap "$DMUTEXD" --id "$addr" --members "$MEMBERS" --config "$CONF" --data-dir "$T/data$i" \
        --control "$T/c$i.sock" --log-level info "$@" >> "$T/log.$i" 2>&1 &
    eval "PID$i=$!"
    PIDS="$PIDS $!"
    # Ready when the control socket answers (at most 5 s).
    k=0
    while [ $k -lt 50 ]; do
        if "$DMUTEXCTL" --control "$T/c$i.sock" status >/dev/null 2>&1; then return 0; fi
        k=$((k + 1)); sleep 0.1
    done
    fail "node $i did not start"
}

ctl() { i=$1; shift; timeout 30 "$DMUTEXCTL" --control "$T/c$i.sock" "$@"; }

# members_add I ADDRESS COUNT: `members add ADDRESS` at node I, tried up to 5
# times (a change in progress answers EBUSY), must print "epoch E members
# COUNT"; sets OUT to what it printed.
members_add() {
    OUT=""
    for try in 1 2 3 4 5; do
        OUT=$(ctl "$1" members add "$2" 2>&1) && break
        sleep 0.5
    done
    case $OUT in "epoch "*" members $3") ;; *) fail "members add $2 at node $1: '$OUT'" ;; esac
}

# wait_alive I COUNT [SECONDS]: node I sees COUNT members alive.
wait_alive() {
    k=0; lim=$(( ${3:-10} * 10 ))
    while [ $k -lt $lim ]; do
        n=$(ctl "$1" members 2>/dev/null | grep -c ' alive ')
        [ "$n" -ge "$2" ] && return 0
        k=$((k + 1)); sleep 0.1
    done
    ctl "$1" members
    fail "node $1 does not see $2 members alive"
}

# counter I NAME: a STATUS counter of node I.
counter() {
    ctl "$1" status | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n1
}

# Check a critical-section log of "start TOKEN TIME WHO" / "end TOKEN TIME WHO"
# lines (appended with O_APPEND, so file order is real-time order): sections
# never overlap and tokens strictly increase. TIME (CLOCK_REALTIME, which
# network namespaces share) is checked too: a start is timed after the
# previous end was written, so it cannot be earlier.
check_cs_log() {
    awk '
        $1 == "start" { if (open) { print "overlap: " $0 " inside token " cur; bad = 1 }
                        if ($2 + 0 <= last + 0) { print "token not increasing: " $2 " after " last; bad = 1 }
                        if ($3 + 0 < lastend + 0) { print "overlap by the clock: " $0 " before the end of " last; bad = 1 }
                        open = 1; cur = $2; last = $2; n++ }
        $1 == "end"   { if (!open || $2 != cur) { print "unmatched end: " $0; bad = 1 } open = 0; lastend = $3 }
        END { if (open) { print "section never ended: " cur; bad = 1 }
              print n " sections"; exit bad }' "$1"
}

CS_CMD='echo "start $DMUTEX_FENCING_TOKEN $(date +%s%N) $WHO" >> "$CS_LOG"; sleep 0.02; echo "end $DMUTEX_FENCING_TOKEN $(date +%s%N) $WHO" >> "$CS_LOG"'

# Certificates for the TLS tests, made with certtool (gnutls-bin) in $T, never
# committed. gen_ca NAME: a CA $T/NAME.pem (key $T/NAME.key).
gen_ca() {
    printf 'cn = "dmutex test CA %s"\nca\ncert_signing_key\nexpiration_days = 2\n' "$1" > "$T/$1.tmpl"
    certtool --generate-privkey --key-type ecdsa --outfile "$T/$1.key" >/dev/null 2>&1 &&
    certtool --generate-self-signed --load-privkey "$T/$1.key" --template "$T/$1.tmpl" \
        --outfile "$T/$1.pem" >/dev/null 2>&1 || fail "certtool: CA $1"
}
# gen_cert NAME CA MEMBER-ADDRESS
gen_cert() {
    printf 'cn = "dmutex member"\nuri = "dmutex://%s"\ntls_www_server\ntls_www_client\nsigning_key\nexpiration_days = 2\n' \
        "$3" > "$T/$1.tmpl"
    certtool --generate-privkey --key-type ecdsa --outfile "$T/$1.key" >/dev/null 2>&1 &&
    certtool --generate-certificate --load-privkey "$T/$1.key" --load-ca-certificate "$T/$2.pem" \
        --load-ca-privkey "$T/$2.key" --template "$T/$1.tmpl" --outfile "$T/$1.pem" >/dev/null 2>&1 ||
        fail "certtool: certificate $1"
}
# tls_client ADDRESS CA CERT KEY [HEX]: a TLS 1.3 client with that certificate
# connects to ADDRESS, sends the bytes HEX (if given) and reads until the server
# closes; a refused handshake is no error (the server's log says why).
tls_client() {
    python3 - "$@" <<'PY'
import socket, ssl, sys
host, port = sys.argv[1].rsplit(":", 1)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
ctx.check_hostname = False
ctx.load_verify_locations(sys.argv[2])
ctx.load_cert_chain(sys.argv[3], sys.argv[4])
try:
    s = ctx.wrap_socket(socket.create_connection((host, int(port)), timeout=5))
    if len(sys.argv) > 5:
        s.sendall(bytes.fromhex(sys.argv[5]))
    while s.recv(100):
        pass
except (OSError, ssl.SSLError):
    pass
PY
}

# config_of I: the addresses of node I's installed configuration (policy epoch).
config_of() { ctl "$1" status 2>/dev/null | sed -n 's/^configuration //p'; }
# wait_config_is I ADDRESSES: node I installs the configuration ADDRESSES
# (space-separated, in id order) within 10 s.
wait_config_is() {
    k=0
    until [ "$(config_of "$1")" = "$2" ]; do
        k=$((k + 1)); [ $k -lt 100 ] || fail "node $1: configuration '$(config_of "$1")', not '$2'"; sleep 0.1
    done
}
