#!/bin/sh
# tests/net-json.sh -- the machine-readable answers of dmutexd:
#  - `dmutexctl status --json` / `members --json` parse with python3's json
#    module, carry schema_version 1 and the documented fields and types, and
#    cover every line of the text STATUS (each line's first word is a member;
#    each key=value of counters/traffic/locks/control is there as a number);
#    a held lock whose name needs escaping (quote, backslash, non-ASCII, a
#    byte that is not UTF-8) comes back as the right string and token;
#  - `dmutexctl metrics` is valid Prometheus text format (tests/promcheck.py,
#    which first proves it refuses known-bad input) with the documented
#    families; the latency histogram counted the grants; bad control input
#    shows up in dmutex_bad_input_total{kind="control"};
#  - metrics_listen: GET /metrics over HTTP answers the same families (and
#    closes the connection); other paths, methods, garbage, an oversized
#    head get 404/405/400/431 and are counted as bad input of kind http.
. "$(dirname "$0")/net-lib.sh"
SRC=$(cd "$(dirname "$0")" && pwd)

python3 "$SRC/promcheck.py" --selftest > "$T/selftest" || { cat "$T/selftest"; fail "promcheck accepts bad input"; }
ok "promcheck refuses known-bad input"

# Policy epoch and a cluster key: its STATUS and MEMBERS have the most
# lines (epoch, configuration, in-config, auth), which the JSON must all cover.
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$T/cluster.key"
cluster_init 3 "policy = epoch" "key_file = $T/cluster.key"
start_node 1
start_node 2
HTTP_PORT=$(free_ports 1)
start_node 3 --set "metrics_listen=127.0.0.1:$HTTP_PORT"
for i in 1 2 3; do wait_alive $i 3; done

# A name with a quote, a backslash, a slash, UTF-8 and one byte that is not.
NAME=$(printf 'q"b\\c/\303\251\377')
ctl 1 lock "$NAME" --timeout 10 > "$T/token" 2> "$T/lockerr" &
HOLDER=$!
PIDS="$PIDS $HOLDER"
k=0; while [ $k -lt 100 ] && [ ! -s "$T/token" ]; do k=$((k + 1)); sleep 0.1; done
[ -s "$T/token" ] || { cat "$T/lockerr"; fail "could not take the lock"; }
for n in 1 2 3; do ctl 2 lock plain$n -- true || fail "lock plain$n"; done
# One acquisition that waits about 0.6 s behind another session of node 2:
# the histogram must see a wait that long, not only the fast ones.
ctl 2 lock slow -- sleep 0.6 &
SLOW=$!
sleep 0.1
ctl 2 lock slow --timeout 10 -- true || fail "lock slow (queued)"
wait $SLOW || fail "lock slow (first)"

ctl 1 status > "$T/status.txt" || fail "status"
ctl 1 status --json > "$T/status.json" || fail "status --json"
ctl 1 status --json plain1 > "$T/status-name.json" || fail "status --json NAME"
ctl 1 members > "$T/members.txt" || fail "members"
ctl 1 members --json > "$T/members.json" || fail "members --json"

python3 - "$T" "$(cat "$T/token")" "$ADDR1" <<'PY' || fail "JSON answers"
import json, sys
d, token, self_addr = sys.argv[1], int(sys.argv[2]), sys.argv[3]
want_name = b'q"b\\c/\xc3\xa9\xff'.decode("utf-8", "replace")
bad = []
def need(cond, what):
    if not cond:
        bad.append(what)
def typed(obj, key, types, where):
    need(key in obj, "%s: no %r" % (where, key))
    if key in obj:
        need(isinstance(obj[key], types) and not (isinstance(obj[key], bool) and bool not in (types if isinstance(types, tuple) else (types,))),
             "%s.%s: %r is not %s" % (where, key, obj[key], types))

st = json.load(open(d + "/status.json"))
typed(st, "schema_version", int, "status"); need(st.get("schema_version") == 1, "schema_version is not 1")
typed(st, "policy", dict, "status")
for k in ("policy", "quorum_system"): typed(st["policy"], k, str, "policy")
typed(st["policy"], "spread", bool, "policy")
typed(st, "epoch", dict, "status (policy epoch)")
for k in ("epoch", "members"): typed(st["epoch"], k, int, "epoch")
for k in ("sealed", "abstaining", "member"): typed(st["epoch"], k, bool, "epoch")
need(isinstance(st.get("configuration"), list) and len(st["configuration"]) == 3, "configuration: %r" % st.get("configuration"))
typed(st, "self", dict, "status")
typed(st["self"], "address", str, "self"); need(st["self"]["address"] == self_addr, "self.address")
for k in ("id", "members", "incarnation", "health"): typed(st["self"], k, int, "self")
typed(st["view"], "size", int, "view"); typed(st["view"], "hash", str, "view")
need(len(st["view"]["hash"]) == 16, "view.hash is not 16 hex digits")
need(st["quorum"]["name"] is None, "quorum.name without a name")
need(isinstance(st["quorum"]["members"], list) and all(isinstance(a, str) for a in st["quorum"]["members"]), "quorum.members")
typed(st["recovery"], "ready", bool, "recovery")
need(st["recovery"]["ready"] is True and st["recovery"]["stage"] is None, "recovery: ready with no stage")
for k in ("quiet_left_ms", "deferred_locks"): typed(st["recovery"], k, int, "recovery")
typed(st, "held", list, "status")
held = [h for h in st["held"] if h["name"] == want_name]
need(len(held) == 1, "the held lock %r is not in held: %r" % (want_name, st["held"]))
if held:
    need(held[0]["token"] == token, "held token %r, dmutexctl printed %d" % (held[0]["token"], token))
    typed(held[0], "lease_ms", int, "held[]")
# Every text line is covered: its first word a member, its key=value pairs numbers.
for line in open(d + "/status.txt", errors="replace"):
    w = line.split()
    if not w or w[0] == "OK":
        continue
    need(w[0] in st, "text line %r has no JSON member %r" % (line.strip(), w[0]))
    for kv in w[1:]:
        if "=" in kv and w[0] in ("counters", "traffic", "locks", "control"):
            k, v = kv.split("=", 1)
            need(isinstance(st.get(w[0], {}).get(k), int), "%s.%s missing or not an integer" % (w[0], k))
typed(st, "auth", dict, "status (with a key)")
typed(st["auth"], "keys", int, "auth"); typed(st["auth"], "sending", str, "auth"); typed(st["auth"], "tls", bool, "auth")
need(st["auth"]["udp"] in ("encrypted", "authenticated"), "auth.udp %r" % st["auth"].get("udp"))
typed(st, "auth_failures", dict, "status")
typed(st["auth_failures"], "total", int, "auth_failures"); typed(st["auth_failures"], "peers", dict, "auth_failures")
sn = json.load(open(d + "/status-name.json"))
need(sn["quorum"]["name"] == "plain1", "status --json NAME: quorum.name is %r" % sn["quorum"]["name"])

mj = json.load(open(d + "/members.json"))
need(mj.get("schema_version") == 1, "members: schema_version")
text = [l.split() for l in open(d + "/members.txt") if l.strip() and l.strip() != "OK" and not l.startswith("epoch ")]
need(isinstance(mj.get("epoch"), dict) and isinstance(mj["epoch"].get("epoch"), int), "members: epoch %r" % mj.get("epoch"))
need(len(mj["members"]) == len(text) == 3, "members: %d in JSON, %d in text" % (len(mj["members"]), len(text)))
for m, t in zip(mj["members"], text):
    need(m["address"] == t[0] and m["state"] == t[1] and m["incarnation"] == int(t[2]), "member %r vs text %r" % (m, t))
    typed(m, "id", int, "member"); typed(m, "self", bool, "member")
    need(m.get("in_config") is (t[3] == "in-config"), "member %r: in_config vs text %r" % (m, t))
    need(m["state"] in ("alive", "suspect", "dead", "left"), "member state %r" % m["state"])
need(sum(m["self"] for m in mj["members"]) == 1, "not exactly one member is self")
for b in bad:
    print("FAIL: " + b)
sys.exit(1 if bad else 0)
PY
ok "status --json and members --json: schema 1, fields, types, every text line covered, escaped name"

# Bad control input is counted and shows in the metrics.
printf 'JSON FROB\nMETRICS extra\n' | python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(sys.stdin.buffer.read()); s.shutdown(socket.SHUT_WR)
out = b""
while out.count(b"\n") < 2:
    b = s.recv(4096)
    if not b: break
    out += b
sys.stdout.write(out.decode())' "$T/c1.sock" > "$T/bad.out"
[ "$(grep -c '^ERR EPROTO' "$T/bad.out")" -eq 2 ] || { cat "$T/bad.out"; fail "bad JSON/METRICS commands not refused"; }

ctl 2 metrics > "$T/metrics" || fail "metrics"
python3 "$SRC/promcheck.py" "$T/metrics" || fail "metrics are not valid text format"
ctl 1 metrics > "$T/metrics1" || fail "metrics on node 1"
python3 - "$T/metrics" "$T/metrics1" "$SRC" <<'PY' || fail "metric families"
import sys
sys.path.insert(0, sys.argv[3])
from promcheck import check
bad = []
_, types, samples = check(open(sys.argv[1]).read())
for fam, t in [("dmutex_locks_acquired_total", "counter"), ("dmutex_locks_failed_total", "counter"),
               ("dmutex_locks_lost_total", "counter"), ("dmutex_grants_total", "counter"),
               ("dmutex_lock_acquire_seconds", "histogram"), ("dmutex_members", "gauge"),
               ("dmutex_bad_input_total", "counter"), ("dmutex_auth_failures_total", "counter"),
               ("dmutex_auth_enabled", "gauge"), ("dmutex_control_sessions", "gauge")]:
    if types.get(fam) != t:
        bad.append("%s: type %r, want %s" % (fam, types.get(fam), t))
def value(s, name, labels=""):
    return [v for fam in s.values() for n, l, v in fam if n == name and l == labels] or [None]
cnt = [v for n, l, v in samples["dmutex_lock_acquire_seconds"] if n.endswith("_count")][0]
if cnt < 5:
    bad.append("the latency histogram counted %s grants, want >= 5" % cnt)
fast = value(samples, "dmutex_lock_acquire_seconds_bucket", '{le="0.25"}')[0]
if fast is None or fast >= cnt:
    bad.append("no acquisition above 0.25 s in the histogram (%s of %s at most 0.25 s)" % (fast, cnt))
acq = value(samples, "dmutex_locks_acquired_total")[0]
if acq is None or acq < 3:
    bad.append("dmutex_locks_acquired_total is %s, want >= 3" % acq)
if value(samples, "dmutex_members", '{state="alive"}')[0] != 3:
    bad.append("dmutex_members{state=\"alive\"} is not 3")
_, _, s1 = check(open(sys.argv[2]).read())
if (value(s1, "dmutex_bad_input_total", '{kind="control"}')[0] or 0) < 2:
    bad.append("the two bad commands are not in dmutex_bad_input_total{kind=\"control\"}")
for b in bad:
    print("FAIL: " + b)
sys.exit(1 if bad else 0)
PY
ok "metrics: text format, families, latency histogram, bad input counted"

python3 - "$HTTP_PORT" "$T" <<'PY' || fail "metrics over HTTP"
import socket, sys
port, d = int(sys.argv[1]), sys.argv[2]
def ask(raw):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(raw)
    out = b""
    while True:                       # the server closes after one answer
        # (an oversized head is sent at exactly the 4096-byte limit, all of
        # which the server reads: unread bytes would make its close a reset)
        b = s.recv(65536)
        if not b:
            break
        out += b
    s.close()
    head, _, body = out.partition(b"\r\n\r\n")
    return head.decode().split("\r\n"), body.decode()
bad = []
head, body = ask(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
if head[0] != "HTTP/1.1 200 OK" or "Content-Type: text/plain; version=0.0.4; charset=utf-8" not in head:
    bad.append("GET /metrics: %r" % head)
if "Content-Length: %d" % len(body.encode()) not in head:
    bad.append("Content-Length does not match the body")
open(d + "/metrics.http", "w").write(body)
for raw, want in [(b"GET / HTTP/1.1\r\n\r\n", "404"), (b"POST /metrics HTTP/1.1\r\n\r\n", "405"),
                  (b"\x00\x01garbage\r\n\r\n", "400"), (b"GET /metrics HTTP/1.1\r\nX: " + b"a" * (4096 - 26), "431")]:
    h, _ = ask(raw)
    if not h[0].startswith("HTTP/1.1 " + want):
        bad.append("%r: answered %r, want %s" % (raw[:30], h[0], want))
for b in bad:
    print("FAIL: " + b)
sys.exit(1 if bad else 0)
PY
python3 "$SRC/promcheck.py" "$T/metrics.http" || fail "GET /metrics is not valid text format"
grep -q '^dmutex_lock_acquire_seconds_count ' "$T/metrics.http" || fail "GET /metrics lacks the control socket's families"
n=$(ctl 3 metrics | sed -n 's/^dmutex_bad_input_total{kind="http"} //p')
[ "${n:-0}" -ge 4 ] || fail "bad HTTP requests counted $n times, want 4"
ok "metrics_listen: GET /metrics (200, same format), 404/405/400/431 counted as bad input ($n)"

kill "$HOLDER" 2>/dev/null
wait "$HOLDER" 2>/dev/null
exit 0
