#!/bin/sh
# tests/net-badinput.sh -- bad input on every port is counted, dropped, and
# the service goes on:
#  part 1 (no key): garbage, truncated frames, oversized length prefixes,
#    unknown versions, misaddressed frames over UDP and TCP to every node; a
#    flood of TCP connections; garbage on the control socket; a bounded fuzz
#    (random bytes and bit-flipped frames, UDP and TCP); a control client that
#    never reads its answers;
#  part 2 (--key-file): unauthenticated frames, frames MACed with a wrong
#    key, a replayed and a stale correctly-MACed frame.
# After each part every node still grants locks and STATUS shows the counts.
. "$(dirname "$0")/net-lib.sh"

BAD=$T/bad.py
cat > "$BAD" <<'PY'
import hmac, hashlib, socket, struct, sys, time

host, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
key = open(sys.argv[4], "rb").read().strip() if mode == "keyed" else None

def frame(version=2, typ=1, frm=0, to=1, name=b"L", flags=0, length=None):
    body = struct.pack(">BBHHBBQ", version, typ, frm, to, len(name), flags, 7) + name
    body += struct.pack(">QQQ", 0x100000001, 5, 0)      # REQUEST: attempt, value, epoch
    n = 4 + len(body) if length is None else length
    return struct.pack(">I", n) + body

def seal(f, k, seq, ts):
    f = bytearray(f); f[11] |= 1
    t = bytes(f) + struct.pack(">QQ", seq, ts)
    return t + hmac.new(k, t, hashlib.sha256).digest()

def udp(data):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(data, (host, port)); s.close()

def tcp(data, linger=0.05):
    s = socket.create_connection((host, port), timeout=2)
    s.sendall(data); time.sleep(linger); s.close()

if mode == "plain":
    junk = [frame(typ=99),                       # unknown type: garbage
            frame()[:30],                        # truncated (prefix says 48)
            frame(length=100000),                # oversized length prefix
            frame(version=7),                    # unknown version
            frame(frm=0, to=0),                  # from == to: garbage
            frame(length=12),                    # shorter than a header
            bytes(range(256)) * 3]               # noise
    for j in junk:
        udp(j)
        tcp(j)
    udp(frame(frm=9, to=1))                      # from outside the membership
    # one good-looking frame then garbage on the same connection
    tcp(frame(to=4000) + b"\xff" * 64)
elif mode == "fuzz":
    # Bounded: 1500 datagrams and 60 streams of random or bit-flipped frames.
    import random
    rnd = random.Random(int(sys.argv[4]))
    base = frame(frm=0, to=1)
    def sample():
        if rnd.random() < 0.5:
            return bytes(rnd.getrandbits(8) for _ in range(rnd.randint(0, 700)))
        b = bytearray(base)
        for _ in range(rnd.randint(1, 4)):
            b[rnd.randrange(len(b))] ^= 1 << rnd.randrange(8)
        return bytes(b)
    for _ in range(1500):
        udp(sample())
    for _ in range(60):
        try:
            tcp(b"".join(sample() for _ in range(rnd.randint(1, 5))), linger=0)
        except OSError:
            pass
elif mode == "flood":
    socks = []
    for i in range(120):
        try:
            socks.append(socket.create_connection((host, port), timeout=2))
        except OSError:
            pass
    time.sleep(0.5)
    for s in socks: s.close()
elif mode == "keyed":
    me = int(sys.argv[5]); other = 1 - me if me < 2 else 0
    f = frame(frm=other, to=me)
    udp(f); tcp(f)                                # no trailer at all
    wrong = b"not-the-cluster-key-0123456789"
    udp(seal(f, wrong, 1, time.time_ns() // 1000)); tcp(seal(f, wrong, 1, time.time_ns() // 1000))
    # Correct MACs. Sent "from" the recipient itself, whose replay state the
    # cluster's own traffic never touches: the first copy passes the MAC and
    # the replay window, then fails decoding (from == to: garbage); the
    # second copy is a replay; the stale one is refused by its timestamp.
    f = frame(frm=me, to=me)
    now = time.time_ns() // 1000
    good = seal(f, key, now, now)
    udp(good); udp(good)
    udp(seal(f, key, now + 1, now - 600 * 10**6))   # ten minutes old
elif mode == "slowreader":
    # Ask for 6000 STATUS answers (several MB) and never read them.
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.connect(sys.argv[4])
    s.settimeout(5)
    try:
        for _ in range(60):
            s.sendall(b"STATUS\n" * 100)
    except OSError:
        pass                                      # the daemon dropped us: fine
    time.sleep(0.5); s.close()
elif mode == "control":
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.connect(sys.argv[4])
    s.sendall(b"FROB\nLOCK\nLOCK x notanumber\nUNLOCK\n\x01\x02garbage\n" + b"A" * 3000 + b"\n")
    time.sleep(0.3); s.close()
PY

port_of() { echo "${1##*:}"; }

# ---------------------------------------------------------------- part 1
cluster_init 3
for i in 1 2 3; do start_node $i; done
for i in 1 2 3; do wait_alive $i 3; done
for i in 1 2 3; do
    eval "addr=\$ADDR$i"
    python3 "$BAD" 127.0.0.1 "$(port_of "$addr")" plain || fail "bad.py plain"
    python3 "$BAD" 127.0.0.1 "$(port_of "$addr")" control "$T/c$i.sock" || fail "bad.py control"
    python3 "$BAD" 127.0.0.1 "$(port_of "$addr")" fuzz $i || fail "bad.py fuzz"
done
eval "python3 \"\$BAD\" 127.0.0.1 \"\$(port_of \$ADDR1)\" flood" || fail "bad.py flood"
python3 "$BAD" 127.0.0.1 0 slowreader "$T/c1.sock" || fail "bad.py slowreader"
grep -q "does not read its answers" "$T/log.1" || fail "a client that does not read was not dropped"
sleep 0.3
for i in 1 2 3; do
    eval "p=\$PID$i"
    kill -0 "$p" 2>/dev/null || fail "node $i died"
    for c in garbage truncated oversize version rejected control; do
        v=$(counter $i $c)
        [ "${v:-0}" -gt 0 ] || { ctl $i status; fail "node $i: counter $c is ${v:-?}"; }
    done
done
v=$(counter 1 conn_limit)
[ "${v:-0}" -gt 0 ] || fail "node 1: connection flood not counted"
ctl 1 status | grep '^counters'
for i in 1 2 3; do
    ctl $i lock L --timeout 10 -- true || fail "node $i cannot lock after bad input"
done
grep -q "bad input (garbage)" "$T/log.1" || fail "bad input not logged"
n=$(grep -c "bad input (garbage)" "$T/log.1")
[ "$n" -le 3 ] || fail "garbage logged $n times: not rate-limited"
ok "part 1: garbage/truncated/oversize/version/rejected/control/flood counted, logged ($n lines), service goes on"
for i in 1 2 3; do eval "kill -TERM \$PID$i; wait \$PID$i"; done
PIDS=""

# ---------------------------------------------------------------- part 2
KEY=$T/cluster.key
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$KEY"
mkdir -p "$T/k" && T0=$T && T=$T/k
cluster_init 3
for i in 1 2 3; do start_node $i --key-file "$KEY"; done
for i in 1 2 3; do wait_alive $i 3; done
grep -q "frames authenticated" "$T/log.1" || fail "key not in use"
# Which id (sorted index) is each node? The frames name it as `to`.
SORTED=$(echo "$MEMBERS" | tr ',' '\n' | sort)
for i in 1 2 3; do
    eval "addr=\$ADDR$i"
    id=$(echo "$SORTED" | grep -n "^$addr\$" | cut -d: -f1); id=$((id - 1))
    python3 "$BAD" 127.0.0.1 "$(port_of "$addr")" keyed "$KEY" "$id" || fail "bad.py keyed"
done
sleep 0.3
for i in 1 2 3; do
    for c in auth replay; do
        v=$(counter $i $c)
        [ "${v:-0}" -gt 0 ] || { ctl $i status; fail "keyed node $i: counter $c is ${v:-?}"; }
    done
    ctl $i lock L --timeout 10 -- true || fail "keyed node $i cannot lock"
done
ctl 1 status | grep '^counters'
ok "part 2: unauthenticated, wrong-key, replayed and stale frames refused; authenticated cluster serves"
T=$T0
echo "net-badinput: 1 passed, 0 failed"
