#!/bin/sh
# tests/man-pages.sh -- the man pages (man/) and the programs agree, and the
# pages render without warnings.
#
#  - every option in `dmutexd --help`, `dmutexctl --help` and
#    `dmutex-sim --help` is an item of its page's OPTIONS section, and every
#    item there is in --help (--help itself excepted); dmutexctl's commands
#    likewise in COMMANDS;
#  - every function declared in net/dmutex.h is in libdmutex(3)'s SYNOPSIS,
#    and the other way round;
#  - every config key dmutexd reads (its --help lists them) is an item of
#    dmutex.conf(5), and the other way round;
#  - groff -man -ww renders every page without a warning (skipped without groff).
# A self-test first feeds the checker a page with an option missing and one
# too many, which it must report.
#
# Environment: DM_NET_BIN (build tree), DM_TOP_SRCDIR (source tree).
set -u
BIN=${DM_NET_BIN:-.}
SRC=${DM_TOP_SRCDIR:-.}
for b in dmutexd dmutexctl dmutex-sim; do
    [ -x "$BIN/$b" ] || { echo "SKIP: $BIN/$b not built"; exit 77; }
done
T=$(mktemp -d "${TMPDIR:-/tmp}/dmman.XXXXXX")
trap 'rm -rf "$T"' EXIT
FAILED=0
problem() { FAILED=1; printf 'FAIL: %s\n' "$*"; }

# The tag lines (the line after each .TP) of section $2 of roff page $1, with
# \- as -, fonts and quotes removed.
tags() {
    awk -v sec="$2" '
        /^\.SH/ { s = $0; sub(/^\.SH[ \t]+/, "", s); gsub(/"/, "", s); in_sec = (s == sec); next }
        in_sec && /^\.TP/ { tp = 1; next }
        in_sec && tp { tp = 0; print }' "$1" |
        sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/^\.[A-Z]*[ \t]*//' -e 's/"//g'
}
# --long options named in text on stdin, one per line, sorted.
long_opts() { grep -o -- '--[a-z][a-z0-9-]*' | sort -u; }

# check_options PROGRAM HELPFILE PAGE SOURCE: options both ways. SOURCE is
# the file to edit, named in the messages.
check_options() {
    prog=$1 help=$2 page=$3 source=$4
    long_opts < "$help" > "$T/help.opts"
    tags "$page" OPTIONS | long_opts > "$T/page.opts"
    for o in $(comm -23 "$T/help.opts" "$T/page.opts"); do
        problem "$prog --help lists $o, but $source does not document it. Add under .SH OPTIONS in $source:
    .TP
    .BI $(echo "$o" | sed 's/-/\\-/g')= ARG      (or .B $(echo "$o" | sed 's/-/\\-/g') for a flag)
    What it does, one or two lines (as $prog --help says it)."
    done
    for o in $(comm -13 "$T/help.opts" "$T/page.opts"); do
        [ "$o" = --help ] && continue
        problem "$source documents $o under OPTIONS, but $prog --help does not list it: remove the .TP item from $source, or give $prog the option (with its help line)."
    done
}

# ---- self-test: a page missing --bootstrap and with an extra --no-such.
"$BIN/dmutexd" --help > "$T/dmutexd.help" 2>&1
awk '/^\.B \\-\\-bootstrap$/ { print ".B \\-\\-no\\-such"; next } { print }' \
    "$SRC/man/dmutexd.8" > "$T/bad.8"
out=$(check_options dmutexd "$T/dmutexd.help" "$T/bad.8" man/dmutexd.8)
case $out in
    *"lists --bootstrap, but man/dmutexd.8 does not"*"documents --no-such under OPTIONS"*) echo "ok: self-test: a missing and an extra option are reported" ;;
    *) FAILED=0; echo "FAIL: self-test: the checker did not report a known mismatch:"; echo "$out"; exit 1 ;;
esac
FAILED=0

# ---- the programs' options.
for p in dmutexd:8 dmutexctl:1 dmutex-sim:1; do
    prog=${p%%:*} sec=${p#*:}
    "$BIN/$prog" --help > "$T/$prog.help" 2>&1 || { problem "$prog --help exited non-zero"; continue; }
    check_options "$prog" "$T/$prog.help" "$SRC/man/$prog.$sec" "man/$prog.$sec"
done

# ---- dmutexctl's commands: the first word of each indented usage line.
sed -n 's/^  \([a-z][a-z-]*\).*/\1/p' "$T/dmutexctl.help" | sort -u > "$T/help.cmds"
tags "$SRC/man/dmutexctl.1" COMMANDS | awk '{ print $1 }' | sort -u > "$T/page.cmds"
for c in $(comm -23 "$T/help.cmds" "$T/page.cmds"); do
    problem "dmutexctl --help lists the command '$c', but man/dmutexctl.1 does not. Add under .SH COMMANDS in man/dmutexctl.1:
    .TP
    .BI $c \" ARGS\"
    What it does, and its options (each also an item under .SH OPTIONS)."
done
for c in $(comm -13 "$T/help.cmds" "$T/page.cmds"); do
    problem "man/dmutexctl.1 documents the command '$c' under COMMANDS, but dmutexctl --help does not list it: remove it from the page or add it to dmutexctl's usage."
done

# ---- libdmutex(3): the functions of net/dmutex.h.
grep -E '^[A-Za-z].*\<dmutex_[a-z_]+\(' "$SRC/net/dmutex.h" | grep -o 'dmutex_[a-z_]*(' | tr -d '(' | sort -u > "$T/h.fns"
awk '/^\.SH/ { on = ($2 == "SYNOPSIS") } on' "$SRC/man/libdmutex.3" | grep -o 'dmutex_[a-z_]*(' | tr -d '(' | sort -u > "$T/page.fns"
for f in $(comm -23 "$T/h.fns" "$T/page.fns"); do
    problem "net/dmutex.h declares $f(), but man/libdmutex.3 does not. Add its prototype to .SH SYNOPSIS (a .BI line like the others) and say what it does under .SH DESCRIPTION (errors under RETURN VALUE)."
done
for f in $(comm -13 "$T/h.fns" "$T/page.fns"); do
    problem "man/libdmutex.3's SYNOPSIS shows $f(), which net/dmutex.h does not declare: remove it from the page."
done

# ---- dmutex.conf(5): every key dmutexd reads. The core's keys are
# generated from dmutexd --print-config-keys; the daemon's are written by hand.
conf=$BIN/man/dmutex.conf.5
if [ -f "$conf" ]; then
    sed -n 's/^Config file keys[^:]*: \(.*\)\.$/\1/p' "$T/dmutexd.help" | tr -d ' ' | tr ',' '\n' | sort -u > "$T/help.keys"
    [ -s "$T/help.keys" ] || problem "cannot find the 'Config file keys ...: a, b.' line in dmutexd --help (this test reads the key list from it)"
    { tags "$conf" "DAEMON KEYS"; tags "$conf" "CORE KEYS"; } | awk '{ print $1 }' | sort -u > "$T/page.keys"
    for k in $(comm -23 "$T/help.keys" "$T/page.keys"); do
        if "$BIN/dmutexd" --print-config-keys | grep -q "^| \`$k\`"; then
            problem "dmutex.conf(5) lacks the core key '$k': it is generated from dmutexd --print-config-keys; run make (man/dmutex.conf.5 is stale?) or check man/confkeys.awk."
        else
            problem "dmutexd reads the config key '$k', but dmutex.conf(5) does not document it. Add under .SH DAEMON KEYS in man/dmutex.conf.5.in:
    .TP
    .B $(echo "$k" | sed 's/-/\\-/g')
    What it sets, and its default."
        fi
    done
    for k in $(comm -13 "$T/help.keys" "$T/page.keys"); do
        problem "dmutex.conf(5) documents the key '$k', which dmutexd does not read: remove it from man/dmutex.conf.5.in."
    done
else
    problem "$conf was not built (make builds it from man/dmutex.conf.5.in)"
fi

# ---- rendering.
if command -v groff >/dev/null 2>&1; then
    for page in "$SRC"/man/*.[1-8] "$conf"; do
        [ -f "$page" ] || continue
        w=$(LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z "$page" 2>&1)
        [ -z "$w" ] || problem "$page: groff warns: $w"
    done
    echo "ok: every page renders without warnings"
else
    echo "note: groff not installed: rendering not checked (apt-get install groff-base)"
fi

[ "$FAILED" -eq 0 ] && echo "ok: --help, net/dmutex.h, the config keys and the man pages agree"
exit "$FAILED"
