#!/usr/bin/env bash
# scripts/test.sh -- the one test command (the README's, and CI's via .ci/run).
#
# Installs missing dependencies (scripts/setup.sh --deps-only: needs root if
# anything is missing), runs autoreconf -fi if there is no configure script,
# ./configure $CONFIGURE_FLAGS, then make -j2 check. On failure prints every
# test-suite.log and exits non-zero.
#   CONFIGURE_FLAGS=--enable-werror scripts/test.sh     (what CI runs)
set -euo pipefail

cd "$(dirname "$0")/.."

scripts/setup.sh --deps-only

if [ ! -x configure ]; then
    autoreconf -fi
fi
# shellcheck disable=SC2086  # CONFIGURE_FLAGS is a list of words
./configure ${CONFIGURE_FLAGS:-}

summary() {
    # The automake test driver's counts, as one "N passed, N failed" line.
    local log=test-suite.log pass fail
    [ -f "$log" ] || return 0
    pass=$(sed -n 's/^# PASS: *//p' "$log" | head -n1)
    fail=$(( $(sed -n 's/^# FAIL: *//p' "$log" | head -n1) + $(sed -n 's/^# ERROR: *//p' "$log" | head -n1) ))
    echo "tests: ${pass:-0} passed, ${fail:-0} failed"
}

if make -j2 check; then
    summary
    exit 0
fi

echo "test.sh: make check FAILED" >&2
found=0
while IFS= read -r -d '' log; do
    found=1
    echo
    echo "==================== $log ===================="
    cat "$log"
done < <(find . -name test-suite.log -type f -print0)
[ "$found" -eq 1 ] || echo "test.sh: no test-suite.log (the build itself failed?)" >&2
summary
exit 1
