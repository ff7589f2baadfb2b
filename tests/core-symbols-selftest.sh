#!/bin/sh
# tests/core-symbols-selftest.sh -- core-symbols.sh must be able to fail.
#
# Feeds the checker tests/libbadclock.a (from tests/data/bad_clock.c, which
# calls clock_gettime, g_random_int and uv_loop_alive) and expects exit
# status 1 with each of those symbols named.
# Environment: DM_BAD_LIB (default tests/libbadclock.a), NM, AR.
set -u

here=$(dirname "$0")
lib=${DM_BAD_LIB:-tests/libbadclock.a}

out=$(sh "$here/core-symbols.sh" "$lib" 2>&1)
rc=$?
printf '%s\n' "$out"

if [ "$rc" -ne 1 ]; then
    echo "FAIL: core-symbols.sh exited $rc on $lib; expected 1 (forbidden symbols found)"
    exit 1
fi
for sym in clock_gettime g_random_int uv_loop_alive; do
    case $out in
        *": $sym"*) ;;
        *) echo "FAIL: core-symbols.sh did not name $sym"; exit 1 ;;
    esac
done
echo "PASS: the checker rejects an object that reads the clock, uses g_random_* and calls uv_*"
exit 0
