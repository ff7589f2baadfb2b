#!/usr/bin/env bash
# experiments/explain.sh -- the first safety violation of a failing run,
# drawn as a timeline in the style of Jepsen's: one lane per node, the two
# holders' holds overlapping, the quorum each formed, what every node saw
# (view size, tree size, epoch) and the faults over time.
#
#   experiments/explain.sh [OPTIONS] [--] DMUTEX-SIM ARGS ...
#
#   --out DIR               write into DIR (default: explain): explain.csv,
#                           explain.png, and the replayed run's trace.txt,
#                           timeline.csv and run.log
#   --sim PATH              the simulator (default: $DM_SIM, or ./dmutex-sim at the top)
#   --interval SECONDS      the timeline's sampling interval (default 0.1)
#   --title TEXT            the figure's title
#
# Runs dmutex-sim with the arguments (a sweep of seeds is fine), takes the
# first run with a safety violation (mutex, token or fence; liveness
# failures are not explained), replays it alone with --trace and --timeline,
# and prints who held, when, with which quorums, what their views were and
# why the quorums did not keep them apart. Example:
#
#   experiments/explain.sh -- --config sim/scenarios/memberlist-hazard.ini
#
# The CSV's rows (analysis/explain.awk): violation, request, hold, quorum,
# view, fault, phase. Without gnuplot it writes the CSV and the summary only.
# Exit status: 0 (explained, or nothing to explain: it says so), 2 on a usage
# error or when the simulator fails.
set -u
DM_PROG=explain.sh
# shellcheck source=experiments/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

usage() { sed -n '2,/^set -u/{/^set -u/d;s/^# \{0,1\}//p}' "$0"; }

sim=${DM_SIM:-$DM_ROOT/dmutex-sim} out=explain interval=0.1 title=
while [ $# -gt 0 ]; do
    case $1 in
        --out) out=$2; shift 2 ;;
        --sim) sim=$2; shift 2 ;;
        --interval) interval=$2; shift 2 ;;
        --title) title=$2; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        --) shift; break ;;
        *) break ;;
    esac
done
[ -x "$sim" ] || dm_die "no simulator at $sim (build it first: make)"
mkdir -p "$out" || dm_die "cannot create $out"

# 1. The runs as asked, one row per run: which seed failed first, and how.
"$sim" "$@" --csv-runs "$out/runs.csv" >"$out/sweep.log" 2>&1
rc=$?
if [ "$rc" -gt 1 ]; then
    echo "explain.sh: dmutex-sim $* exited $rc:" >&2
    tail -n 5 "$out/sweep.log" >&2
    exit 2
fi
read -r seed hash runs kind < <(awk -F, '
    NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    { n++ }
    !s && $(c["violation_at"]) != "" && $(c["violation_at"]) + 0 >= 0 { s = $(c["seed"]); h = $(c["hash"]); k = $(c["violation_kind"]) }
    END { printf "%s %s %d %s\n", s == "" ? "-" : s, h == "" ? "-" : h, n, k == "" ? "-" : k }' "$out/runs.csv")
if [ "$seed" = - ]; then
    if [ "$rc" -eq 0 ]; then
        echo "explain.sh: nothing to explain: $runs run(s), no violation"
    else
        echo "explain.sh: nothing to explain: $runs run(s), no safety violation (only liveness failures or contract errors; see $out/sweep.log)"
    fi
    exit 0
fi

# 2. That run alone, traced. --seed and --runs come last, so they win.
"$sim" "$@" --seed "$seed" --runs 1 --trace "$out/trace.txt" --timeline "$out/timeline.csv" \
    --set "timeline.interval=$interval" >"$out/run.log" 2>&1
rc=$?
[ "$rc" -eq 1 ] || { echo "explain.sh: the replay of seed $seed exited $rc, not 1:" >&2; tail -n 5 "$out/run.log" >&2; exit 2; }
replay=$(sed -n 's/.* hash=\([0-9a-f]*\).*/\1/p' "$out/run.log" | tail -n 1)
[ "$replay" = "$hash" ] || dm_note "warning: the replay's hash $replay differs from the sweep's $hash"

# 3. Taken apart.
echo "explain.sh: seed $seed: dmutex-sim $* --seed $seed --runs 1"
awk -v out="$out/explain.csv" -f "$DM_ROOT/analysis/explain.awk" "$out/trace.txt" "$out/timeline.csv" ||
    dm_die "no $kind violation found in the replay's trace ($out/trace.txt)"

# 4. Drawn.
if [ -n "${DM_NO_GNUPLOT:-}" ] || ! command -v gnuplot >/dev/null 2>&1; then
    echo "explain.sh: gnuplot not found: no figure (the data is in $out/explain.csv)" >&2
    exit 0
fi
# The window: from the earlier request to the later hold's end, padded.
read -r nodes t0 t1 tviol maxepoch < <(awk -F, '
    NR == 1 { next }
    $1 == "view" { if ($2 + 1 > n) n = $2 + 1; if ($11 + 0 > e) e = $11 + 0; if ($5 + 0 > tend) tend = $5 + 0 }
    $1 == "violation" { v = $4 + 0 }
    ($1 == "request" || $1 == "hold") && $6 != "other" {
        if (lo == "" || $4 + 0 < lo) lo = $4 + 0
        if ($5 + 0 > hi) hi = $5 + 0
    }
    END {
        if (v > hi) hi = v
        pad = (hi - lo) * 0.05; if (pad < 0.5) pad = 0.5
        lo -= pad; hi += pad; if (lo < 0) lo = 0; if (hi > tend) hi = tend
        printf "%d %.6f %.6f %.6f %d\n", n, lo, hi, v, e
    }' "$out/explain.csv")
[ -n "$title" ] || title="Violation explained: dmutex-sim $* (seed $seed)"
here=$DM_ROOT/analysis
gnuplot -e "set terminal pngcairo size 1200,$((240 + 60 * nodes)) enhanced font 'sans,11' linewidth 1.5" \
    -e "set output '$out/explain.png'" \
    -e "csv='$out/explain.csv'; here='$here'; nn=$nodes; t0=$t0; t1=$t1; tviol=$tviol; maxepoch=$maxepoch" \
    -e "figtitle='${title//\'/\'\'}'" \
    -e "selfile(file, where) = sprintf(\"< awk -f '%s/select.awk' -v where='%s' '%s'\", here, where, file)" \
    -e "set datafile separator ','" \
    -e "load '$here/style.gp'" \
    "$here/explain.gp" 2>"$out/gnuplot.log" || { cat "$out/gnuplot.log" >&2; dm_die "gnuplot failed on $here/explain.gp"; }
echo "explain.sh: $out/explain.png (data: $out/explain.csv)"
