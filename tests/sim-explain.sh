#!/bin/sh
# experiments/explain.sh on the memberlist hazard: the CSV names two holders
# whose holds overlap, each with a quorum, and the figure exists; on a clean
# run it says there is nothing to explain. Skipped (77) without gnuplot.
set -u
sim=${DM_SIM:?DM_SIM is not set}
scen=${DM_SCENARIOS:?DM_SCENARIOS is not set}
top=$(cd "$(dirname "$0")/.." && pwd)
command -v gnuplot >/dev/null 2>&1 || { echo "SKIP: no gnuplot"; exit 77; }
command -v bash >/dev/null 2>&1 || { echo "SKIP: no bash"; exit 77; }
dir=$(mktemp -d) || exit 99
trap 'rm -rf "$dir"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

bash "$top/experiments/explain.sh" --sim "$sim" --out "$dir/hazard" -- \
    --config "$scen/memberlist-hazard.ini" --policy memberlist >"$dir/out" 2>"$dir/err" ||
    fail "explain.sh on the hazard exited $?: $(cat "$dir/err")"
csv=$dir/hazard/explain.csv
[ -s "$dir/hazard/explain.png" ] || fail "no figure: $(cat "$dir/err")"
# The two holders: distinct nodes, holds that overlap, the violation inside both.
awk -F, '
    $1 == "violation" { v = $4 + 0 }
    $1 == "hold" && ($6 == "first" || $6 == "second") { n[$6] = $2; s[$6] = $4 + 0; e[$6] = $5 + 0; q[$6] = $8 }
    END {
        if (!("first" in n) || !("second" in n)) { print "no first and second holder"; exit 1 }
        if (n["first"] == n["second"]) { print "one node holds twice"; exit 1 }
        if (!(s["first"] < e["second"] && s["second"] < e["first"])) { print "holds do not overlap"; exit 1 }
        if (!(s["second"] <= v && v <= e["first"])) { print "violation at " v " outside the overlap"; exit 1 }
        if (q["first"] == "" || q["second"] == "") { print "a holder without a quorum"; exit 1 }
    }' "$csv" || fail "explain.csv: $(grep -E '^(violation|hold,[0-9]+,,[^,]*,[^,]*,(first|second))' "$csv")"
# The scenario's story: node 1 holds, node 4 is granted, their quorums meet
# at node 2, which dropped node 1 from its view.
grep -q '^hold,1,,.*,first,' "$csv" || fail "the first holder is not node 1"
grep -q '^hold,4,,.*,second,' "$csv" || fail "the second holder is not node 4"
grep -q 'intersect at {2}' "$dir/out" || fail "the summary does not name node 2: $(cat "$dir/out")"
grep -q '^view,' "$csv" && grep -q '^network,.*partition' "$csv" || fail "no view or partition rows"

# A clean run: nothing to explain, exit 0.
bash "$top/experiments/explain.sh" --sim "$sim" --out "$dir/clean" -- \
    --config "$scen/memberlist-hazard.ini" --policy ae >"$dir/out" 2>"$dir/err" ||
    fail "explain.sh on a clean run exited $?: $(cat "$dir/err")"
grep -q 'nothing to explain' "$dir/out" || fail "clean run: $(cat "$dir/out")"
[ ! -e "$dir/clean/explain.png" ] || fail "clean run: a figure was drawn"

# A usage error of the simulator is one of explain.sh too.
bash "$top/experiments/explain.sh" --sim "$sim" --out "$dir/bad" -- --nodes 0 >/dev/null 2>&1
[ $? -eq 2 ] || fail "explain.sh -- --nodes 0 did not exit 2"
[ "$fails" -eq 0 ] || exit 1
echo "explain: ok"
