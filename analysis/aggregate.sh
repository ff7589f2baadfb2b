#!/bin/sh
# analysis/aggregate.sh NAME DIR -- DIR/NAME-raw.csv -> DIR/NAME.csv (per point
# and metric: mean, sd, runs, 95% interval by the metric's kind, unsafe runs), then the experiment's own step, if it
# has one (analysis/NAME-post.sh DIR: analytic columns, theory curves).
set -u
name=${1:?usage: aggregate.sh NAME DIR} dir=${2:?usage: aggregate.sh NAME DIR}
here=$(cd "$(dirname "$0")" && pwd)
raw=$dir/$name-raw.csv
[ -f "$raw" ] || { echo "aggregate.sh: no $raw" >&2; exit 2; }
awk -v kinds="$here/metric-kinds.txt" -f "$here/aggregate.awk" "$raw" >"$dir/$name.csv.tmp" || { rm -f "$dir/$name.csv.tmp"; exit 2; }
mv -f "$dir/$name.csv.tmp" "$dir/$name.csv"
if [ -f "$here/$name-post.sh" ]; then
    sh "$here/$name-post.sh" "$dir" || exit 2
fi
rows=$(($(wc -l <"$raw") - 1))
echo "aggregate.sh: $name: $rows runs -> $dir/$name.csv" >&2
