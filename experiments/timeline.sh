#!/usr/bin/env bash
# experiments/timeline.sh -- the quorum-convergence timeline of one seeded run
# of any scenario: each node's quorum size and view size over time, faults
# shaded.
#
#   experiments/timeline.sh [OPTIONS] SCENARIO.ini [-- DMUTEX-SIM ARGS ...]
#
#   --policy NAME           reconfiguration policy (default: the scenario's;
#                           dmutex-sim --list policies)
#   --seed S                the seed (default: the scenario's)
#   --interval SECONDS      sampling interval (default 0.1)
#   --out PREFIX            write PREFIX.csv, PREFIX.png, PREFIX.svg
#                           (default: SCENARIO without .ini, plus -timeline:
#                           my.ini -> my-timeline.csv/png/svg)
#   --sim PATH              the simulator (default: $DM_SIM, or ./dmutex-sim at the top)
#   --from-csv FILE         draw an existing timeline CSV instead of running
#   --title TEXT            the figure's title
#
# Example: experiments/timeline.sh --policy memberlist sim/scenarios/partitions.ini
# Needs `dmutex-sim --timeline FILE`; without gnuplot it writes the CSV only.
# Exit status: 0, 2 on a usage error, 3 when dmutex-sim has no --timeline yet.
set -u
DM_PROG=timeline.sh
# shellcheck source=experiments/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

usage() { sed -n '2,/^set -u/{/^set -u/d;s/^# \{0,1\}//p}' "$0"; }

sim=${DM_SIM:-$DM_ROOT/dmutex-sim} policy= seed= interval=0.1 out= from= title= ini=
extra=()
while [ $# -gt 0 ]; do
    case $1 in
        --policy) policy=$2; shift 2 ;;
        --seed) seed=$2; shift 2 ;;
        --interval) interval=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --sim) sim=$2; shift 2 ;;
        --from-csv) from=$2; shift 2 ;;
        --title) title=$2; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        --) shift; extra=("$@"); break ;;
        -*) echo "timeline.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
        *) [ -z "$ini" ] || { echo "timeline.sh: one scenario only" >&2; exit 2; }; ini=$1; shift ;;
    esac
done
if [ -n "$from" ]; then
    [ -f "$from" ] || dm_die "no $from"
    [ -n "$out" ] || out=${from%.csv}
else
    [ -n "$ini" ] || { usage >&2; exit 2; }
    [ -f "$ini" ] || dm_die "no scenario $ini"
    [ -n "$out" ] || out=${ini%.ini}-timeline
fi
csv=$out.csv

if [ -z "$from" ]; then
    [ -x "$sim" ] || dm_die "no simulator at $sim (build it first: make)"
    if ! dm_feature "$sim" timeline; then
        echo "timeline.sh: this dmutex-sim has no --timeline FILE yet (pending feature): nothing drawn" >&2
        exit 3
    fi
    args=(--config "$ini" --timeline "$csv.tmp" --set "timeline.interval=$interval")
    [ -n "$policy" ] && args+=(--policy "$policy")
    [ -n "$seed" ] && args+=(--seed "$seed")
    "$sim" "${args[@]}" "${extra[@]}" >"$out.log" 2>&1
    rc=$?
    if [ "$rc" -gt 1 ]; then
        echo "timeline.sh: dmutex-sim ${args[*]} ${extra[*]} exited $rc:" >&2
        tail -n 5 "$out.log" >&2
        rm -f "$csv.tmp"
        exit 2
    fi
    mv -f "$csv.tmp" "$csv"
    [ -n "$title" ] || title="Quorum-convergence timeline: $(basename "$ini")$(
        [ -n "$policy" ] && printf ', policy %s' "$policy")$(
        [ -n "$seed" ] && printf ', seed %s' "$seed")"
    [ "$rc" -eq 0 ] || echo "timeline.sh: note: the run found a violation or liveness failure (see $out.log)" >&2
    # Safety next to the figure: a run with violations says so in its title.
    nviol=$(tail -n 1 "$out.log" | tr ' ' '\n' | sed -n 's/^violations=//p')
    [ "${nviol:-0}" -eq 0 ] || title="$title -- UNSAFE: $nviol safety violation(s) in this run"
else
    [ "$from" = "$csv" ] || cp "$from" "$csv"
    [ -n "$title" ] || title="Quorum-convergence timeline: $(basename "$from")"
fi

if [ -n "${DM_NO_GNUPLOT:-}" ] || ! command -v gnuplot >/dev/null 2>&1; then
    echo "timeline.sh: gnuplot not found: skipping the figure (the data is in $csv)" >&2
    exit 0
fi
# The nodes, the largest size and the end of time, for the axes.
read -r nodes maxsize tend maxepoch < <(awk -F, '
    NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    $(c["kind"]) == "sample" {
        if (!($(c["node"]) in seen)) { seen[$(c["node"])] = 1; list = list (list == "" ? "" : ",") $(c["node"]) }
        if ($(c["view_size"]) + 0 > m) m = $(c["view_size"]) + 0
        if ($(c["tree_size"]) + 0 > m) m = $(c["tree_size"]) + 0
        if ("epoch" in c && $(c["epoch"]) + 0 > e) e = $(c["epoch"]) + 0
    }
    { if ($(c["t_start"]) + 0 > t) t = $(c["t_start"]) + 0; if ($(c["t_end"]) + 0 > t) t = $(c["t_end"]) + 0 }
    END { printf "%s %d %s %d\n", list == "" ? "-" : list, m, t, e }' "$csv")
[ "$nodes" != "-" ] || dm_die "$csv: no samples"
here=$DM_ROOT/analysis
rc=0
for ext in png svg; do
    case $ext in
        png) term="set terminal pngcairo size 1100,760 enhanced font 'sans,11' linewidth 1.5" ;;
        svg) term="set terminal svg size 1100,760 dynamic enhanced font 'sans,11' linewidth 1.5 background rgb 'white'" ;;
    esac
    gnuplot -e "$term; set output '$out.$ext'" \
        -e "csv='$csv'; here='$here'; nodes='${nodes//,/ }'; maxsize=$maxsize; tend=$tend; maxepoch=$maxepoch" \
        -e "figtitle='${title//\'/\'\'}'" \
        -e "selfile(file, where) = sprintf(\"< awk -f '%s/select.awk' -v where='%s' '%s'\", here, where, file)" \
        -e "set datafile separator ','" \
        -e "load '$here/style.gp'" \
        "$here/timeline.gp" || rc=2
done
[ "$rc" -eq 0 ] && echo "timeline.sh: $out.png, $out.svg (data: $csv)" >&2
exit "$rc"
