#!/bin/sh
# tests/net-python.sh -- the Python client (python/dmutex) against three
# live dmutexd on 127.0.0.1: python/tests/test_dmutex.py (unittest discovery: a
# path argument fails where a directory name holds dots, as in make distcheck)
# (the Lock context manager, its token and lost-lease callback, status,
# members, metrics, and python3 -m dmutex with dmutexctl's exit statuses).
# Skipped (77) without python3 (net-lib.sh).
. "$(dirname "$0")/net-lib.sh"
SRC=$(cd "$(dirname "$0")/.." && pwd)

# python3 -m dmutex has dmutexctl's commands and options (man/dmutexctl.1
# documents both in one place).
"$DMUTEXCTL" --help > "$T/ctl.help" 2>&1
PYTHONPATH="$SRC/python" python3 -m dmutex --help > "$T/py.help" 2>&1 || fail "python3 -m dmutex --help"
for f in ctl py; do
    { sed -n 's/^  \([a-z][a-z-]*\).*/\1/p' "$T/$f.help"; grep -o -- '--[a-z][a-z0-9-]*' "$T/$f.help"; } | sort -u > "$T/$f.words"
done
cmp -s "$T/ctl.words" "$T/py.words" || { diff "$T/ctl.words" "$T/py.words"; fail "dmutexctl --help and python3 -m dmutex --help differ in commands or options (< dmutexctl, > python)"; }
ok "python3 -m dmutex --help has dmutexctl's commands and options"

cluster_init 3
start_node 1
start_node 2
start_node 3
for i in 1 2 3; do wait_alive $i 3; done

DMUTEX_TEST_SOCKETS="$T/c1.sock $T/c2.sock $T/c3.sock" DMUTEX_TEST_PIDS="$PID1 $PID2 $PID3" \
    PYTHONPATH="$SRC/python" PYTHONDONTWRITEBYTECODE=1 \
    timeout 120 python3 -m unittest discover -v -s "$SRC/python/tests" -p test_dmutex.py 2>&1 | tee "$T/log.unittest"
grep -q '^OK' "$T/log.unittest" || fail "python unittest"
ok "python client"
