#!/bin/sh
# tests/core-symbols.sh -- the core stays sans-I/O (DESIGN.md section 2).
#
# Runs `nm -u` over every object of the core library and fails, listing
# object and symbol, if any of them references a forbidden symbol: sockets,
# file and console I/O, clocks, global randomness, threads, libuv.
#
# Usage: core-symbols.sh [LIBRARY-OR-OBJECT...]
#   default: $DM_CORE_LIB, else core/libdmcore.a
# Environment: NM (default nm), AR (default ar; only to count members).
# Exit status: 0 clean, 1 forbidden symbols found, 99 could not check.
set -u

NM=${NM:-nm}
AR=${AR:-ar}

# The forbidden set, plus the names glibc actually emits for some of them
# (_FORTIFY_SOURCE *_chk variants, large-file and 64-bit-time aliases).
forbidden='socket connect bind send sendto recv recvfrom read write open fopen
printf fprintf puts clock_gettime gettimeofday time rand srand random
pthread_create g_get_monotonic_time g_get_real_time
__printf_chk __fprintf_chk __read_chk __recv_chk __recvfrom_chk
open64 __open_2 __open64_2 fopen64
__clock_gettime64 __gettimeofday64 __time64'
# ...and every symbol with one of these prefixes.
forbidden_prefixes='g_random_ uv_'

if [ $# -eq 0 ]; then
    set -- "${DM_CORE_LIB:-core/libdmcore.a}"
fi

status=0
for lib in "$@"; do
    if [ ! -f "$lib" ]; then
        echo "core-symbols: $lib: no such file (build it first)" >&2
        exit 99
    fi
    case $lib in
        *.a) members=$($AR t "$lib" 2>/dev/null | wc -l | tr -d ' ') ;;
        *)   members=1 ;;
    esac
    if ! undefined=$($NM -A -u "$lib"); then
        echo "core-symbols: '$NM -A -u $lib' failed" >&2
        exit 99
    fi
    bad=$(printf '%s\n' "$undefined" | awk -v names="$forbidden" -v prefixes="$forbidden_prefixes" '
        BEGIN {
            n = split(names, a, /[ \t\n]+/)
            for (i = 1; i <= n; i++) if (a[i] != "") forbid[a[i]] = 1
            np = split(prefixes, pre, /[ \t\n]+/)
        }
        NF >= 2 && $(NF - 1) == "U" {
            sym = $NF
            sub(/@.*/, "", sym)              # drop symbol versions, if any
            hit = (sym in forbid)
            for (i = 1; i <= np && !hit; i++)
                if (pre[i] != "" && index(sym, pre[i]) == 1) hit = 1
            if (hit) {
                where = $1
                sub(/:$/, "", where)
                print "  " where ": " sym
            }
        }')
    if [ -n "$bad" ]; then
        echo "FAIL: $lib ($members objects) references forbidden symbols:"
        printf '%s\n' "$bad"
        status=1
    else
        echo "ok: $lib ($members objects): no I/O, clock, thread, randomness or libuv symbols"
    fi
done
exit $status
