#!/bin/sh
# analysis/figures.sh NAME DIR [DEFDIR] -- draw experiment NAME's figures from
# DIR/NAME.csv with NAME.gp, each as DIR/<figure>.png (pngcairo) and
# DIR/<figure>.svg. NAME.gp is looked up in DEFDIR (the directory of the
# experiment's definition: a user's own experiment keeps its figure next to
# it), then in analysis/; with neither there is no figure. Without gnuplot it
# says so and succeeds: the CSVs stand.
#
# NAME.gp sees these gnuplot variables and functions:
#   dir, name, csv (DIR/NAME.csv), here (analysis/), ext ("png" or "svg")
#   nlabel      "n = 30 seeds per point" (from the runs column; a range if it varies)
#   cilabel     the intervals the CSV's metrics carry, from its interval column,
#               e.g. "mean, 95% interval: percentile bootstrap (1000 resamples)"
#               (the safety metrics every experiment carries aside)
#   out(fig)    the output file for figure fig: "DIR/fig.ext"
#   sel(where)  a data source: the rows of NAME.csv matching where, e.g.
#               sel("policy=ae,metric=msgs_per_acq"); columns by name
#   selfile(file, where)  the same for another CSV
#   vals_<param> the distinct values of each swept parameter, e.g. vals_policy = "ae memberlist"
#   policies    the simulator's policies in registry order (style.gp styles by it)
set -u
name=${1:?usage: figures.sh NAME DIR [DEFDIR]} dir=${2:?usage: figures.sh NAME DIR [DEFDIR]}
here=$(cd "$(dirname "$0")" && pwd)
csv=$dir/$name.csv
script=${3:+$3/$name.gp}
[ -n "$script" ] && [ -f "$script" ] || script=$here/$name.gp
[ -f "$script" ] || exit 0
if [ -n "${DM_NO_GNUPLOT:-}" ] || ! command -v gnuplot >/dev/null 2>&1; then
    echo "figures.sh: gnuplot not found: skipping the $name figures (the data is in $csv;" \
        "install gnuplot-nox to draw them)" >&2
    exit 0
fi
[ -f "$csv" ] || { echo "figures.sh: no $csv" >&2; exit 2; }
nlabel=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "runs") c = i; next }
    c && $c > 0 { if (min == "" || $c < min) min = $c; if ($c > max) max = $c }
    END { if (min == "") print "no runs"; else if (min == max) printf "n = %d seeds per point\n", min;
          else printf "n = %d–%d seeds per point\n", min, max }' "$csv")
cilabel=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) { if ($i == "interval") c = i; if ($i == "metric") m = i }; next }
    c && $m != "violated" && $m != "viol_per_hour" && !($c in s) { s[$c] = 1; l = l (l == "" ? "" : "; ") \
        ($c == "wilson" ? "Wilson score (proportions)" : $c == "bootstrap" ? "percentile bootstrap, 1000 resamples" : "Student t") }
    END { printf "mean, 95%% interval: %s\n", l == "" ? "Wilson score (proportions)" : l }' "$csv")
# The distinct values of each swept parameter, in order: vals_<param> = "v1 v2 ...".
vals=$(awk -F, 'NR == 1 { for (i = 1; i <= NF && $i != "metric"; i++) h[np = i] = $i; next }
    { for (i = 1; i <= np; i++) if (!((i, $i) in s)) { s[i, $i] = 1; v[i] = v[i] (v[i] == "" ? "" : " ") $i } }
    END { for (i = 1; i <= np; i++) printf "vals_%s = \"%s\"; ", h[i], v[i] }' "$csv")
# The policies in the simulator's registry order (styles follow it, see
# style.gp); without a simulator, those this experiment swept.
policies=$("${DM_SIM:-$here/../dmutex-sim}" --list policies 2>/dev/null | tr '\n' ' ')
policies=${policies% }
[ -n "$policies" ] || policies=$(printf '%s\n' "$vals" | sed -n 's/.*vals_policy = "\([^"]*\)".*/\1/p')
rc=0
for ext in png svg; do
    case $ext in
        png) term="set terminal pngcairo size 960,640 enhanced font 'sans,11' linewidth 1.5" ;;
        svg) term="set terminal svg size 960,640 dynamic enhanced font 'sans,11' linewidth 1.5 background rgb 'white'" ;;
    esac
    gnuplot -e "$term" \
        -e "dir='$dir'; name='$name'; csv='$csv'; here='$here'; ext='$ext'" \
        -e "nlabel='$nlabel'; cilabel='$cilabel'" \
        -e "out(f) = sprintf('%s/%s.%s', dir, f, ext)" \
        -e "selfile(file, where) = sprintf(\"< awk -f '%s/select.awk' -v where='%s' '%s'\", here, where, file)" \
        -e "sel(where) = selfile(csv, where)" \
        -e "set datafile separator ','" \
        -e "policies='$policies'" \
        -e "load '$here/style.gp'" \
        -e "$vals" \
        "$script" 2>"$dir/.$name-gnuplot.err"
    st=$?
    # gnuplot warns on stderr for harmless things (an empty series); fail
    # only on its exit status, but show what it said.
    if [ -s "$dir/.$name-gnuplot.err" ]; then
        sed "s/^/figures.sh: $name ($ext): gnuplot: /" "$dir/.$name-gnuplot.err" | head -n 5 >&2
    fi
    rm -f "$dir/.$name-gnuplot.err"
    [ "$st" -eq 0 ] || { echo "figures.sh: $name: gnuplot failed ($ext)" >&2; rc=2; }
done
[ "$rc" -eq 0 ] && echo "figures.sh: $name: figures in $dir" >&2
exit "$rc"
