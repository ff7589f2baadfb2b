#!/bin/sh
# tests/experiments-quick.sh -- `make experiments-quick` as `make check` runs
# it: every experiment at reduced size (experiments/run.sh --quick --fresh)
# into results/quick, then checks what each leaves behind:
#   - NAME-raw.csv: header experiment,<params>,seed,exit,<metrics>, one row per
#     point and seed;
#   - NAME.csv: header <params>,metric,mean,sd,runs,ci_low,ci_high,interval,
#     unsafe_runs (and, for availability, analytic), one row per point and
#     metric (the safety metrics violated and viol_per_hour among them), every
#     point measured, ci_low <= mean <= ci_high, no interval outside its
#     metric's range (Wilson inside [0, 1], none below 0);
#   - where a definition says the policy cannot matter (policy_free), the
#     point ran once as policy "any", and every policy's run of it has the
#     same hash;
#   - a few results that must hold at any size: ae never violates mutual
#     exclusion (safety), an uncontended ae acquisition costs 3(K-1) to 5(K-1)
#     messages, +2% at most for spurious re-sends (messages), ae serves everything with one node down (sustained);
#   - a user's own experiment, written to a temp dir (run.sh PATH/NAME.exp,
#     NAME.gp next to it): its CSVs and figures appear;
#   - with gnuplot (and DM_NO_GNUPLOT unset): the PNG and SVG figures exist
#     and are PNG / SVG; without: the run says it skipped them and still
#     leaves every CSV.
# An experiment dmutex-sim cannot run yet (NAME.PENDING: a simulator feature
# it needs is missing) or can only partly run (NAME.PARTIAL) is reported, and
# the test then ends SKIPPED (77) rather than PASSED, unless something failed.
# Environment: DM_SIM (the simulator), DM_EXPERIMENTS_OUT (default results/quick).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
sim=${DM_SIM:-$top/dmutex-sim}
out=${DM_EXPERIMENTS_OUT:-results/quick}
DM_PROG=experiments-quick
# shellcheck source=experiments/common.sh
. "$top/experiments/common.sh"

fails=0 skips=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

draw=1
if [ -n "${DM_NO_GNUPLOT:-}" ] || ! command -v gnuplot >/dev/null 2>&1; then
    draw=0
    echo "note: gnuplot is not installed (or DM_NO_GNUPLOT is set): figure checks skipped"
fi

mkdir -p "$out" || exit 99
start=$(date +%s)
"$top/experiments/run.sh" --quick --fresh --sim "$sim" --out "$out" >"$out.log" 2>&1
rc=$?
sed 's/^/  | /' "$out.log"
echo "experiments-quick: $(($(date +%s) - start)) s"
if [ "$rc" -ne 0 ]; then
    fail "experiments/run.sh --quick exited $rc"
    exit 1
fi
if [ "$draw" -eq 0 ] && ! grep -q 'gnuplot not found: skipping' "$out.log"; then
    fail "without gnuplot the run did not say it skipped the figures"
fi

# header_has FILE COLUMNS...: the CSV's header holds every named column.
header_has() {
    local f=$1 c h
    shift
    h=",$(head -n 1 "$f"),"
    for c in "$@"; do
        case $h in *",$c,"*) ;; *) return 1 ;; esac
    done
}

check_figure() {
    local f=$1
    if [ "$draw" -eq 0 ]; then
        [ ! -e "$f.png" ] || fail "$f.png drawn without gnuplot?"
        return
    fi
    if [ -s "$f.png" ] && [ "$(head -c 4 "$f.png" | od -An -c | tr -d ' ')" = '211PNG' ]; then
        ok "$f.png"
    else
        fail "$f.png missing or not a PNG"
    fi
    if [ -s "$f.svg" ] && grep -q '<svg' "$f.svg"; then ok "$f.svg"; else fail "$f.svg missing or not an SVG"; fi
}

# value FILE WHERE COLUMN: COLUMN of the first row of an aggregated CSV
# matching WHERE ("policy=ae,metric=served").
value() {
    awk -f "$top/analysis/select.awk" -v where="$2" "$1" |
        awk -F, -v c="$3" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) k = i; next } k { print $k; exit }'
}

for e in $(dm_all_experiments); do
    if [ -f "$out/$e.PENDING" ]; then
        echo "SKIP: $e: $(sed -n '2,$p' "$out/$e.PENDING" | sed 's/^ *- //' | paste -sd ';' -)"
        skips=$((skips + 1))
        continue
    fi
    if [ -f "$out/$e.PARTIAL" ]; then
        echo "SKIP (partly): $e: $(sed -n '2,$p' "$out/$e.PARTIAL" | sed 's/^ *- //' | paste -sd ';' -)"
        skips=$((skips + 1))
    fi
    (
        fails=0   # this experiment's own
        dm_load "$e" quick
        dm_check_features "$sim"
        if declare -F custom_run >/dev/null; then
            # The timeline: one CSV per policy, their union, and figures.
            [ -s "$out/$e.csv" ] && header_has "$out/$e.csv" policy seed kind t_start t_end node state \
                view_size view_hash tree_size quorum_size detail &&
                ok "$e.csv" || { fail "$e.csv missing or without the timeline columns"; exit 1; }
            for v in $(dm_values policy); do
                grep -q "^$v,[^,]*,sample," "$out/$e.csv" || fail "$e.csv: no samples for policy $v"
                check_figure "$out/$e-$v"
            done
            [ "$fails" -eq 0 ]
            exit
        fi
        npoints=$(dm_points | grep -c .)
        nmetrics=$(echo $metrics | wc -w)
        raw=$out/$e-raw.csv agg=$out/$e.csv
        want_raw="experiment,$(echo $params | tr ' ' ','),seed,exit,$(echo $metrics | tr ' ' ',')"
        [ -s "$raw" ] && [ -s "$agg" ] || { fail "$e: no $raw or $agg"; exit 1; }
        [ "$(head -n 1 "$raw" 2>/dev/null)" = "$want_raw" ] || fail "$e-raw.csv header is not $want_raw"
        rows=$(($(wc -l <"$raw") - 1))
        [ "$rows" -eq $((npoints * seeds)) ] || fail "$e-raw.csv: $rows runs, wanted $npoints points x $seeds seeds"
        want_agg="$(echo $params | tr ' ' ','),metric,mean,sd,runs,ci_low,ci_high,interval,unsafe_runs"
        case $(head -n 1 "$agg" 2>/dev/null) in
            "$want_agg"*) ;;
            *) fail "$e.csv header does not start $want_agg" ;;
        esac
        rows=$(($(wc -l <"$agg") - 1))
        [ "$rows" -eq $((npoints * nmetrics)) ] || fail "$e.csv: $rows rows, wanted $npoints points x $nmetrics metrics"
        # A definition's `sparse` metrics exist only at some of its points
        # (churn-scale's detection time at its up_mean=detect point).
        awk -F, -v sparse=" ${sparse:-} " 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
            $(c["runs"]) < 1 && index(sparse, " " $(c["metric"]) " ") == 0 {
                printf "no run measured %s at %s\n", $(c["metric"]), $0; bad = 1 }
            $(c["ci_low"]) != "" && ($(c["ci_low"]) > $(c["mean"]) + 1e-9 || $(c["ci_high"]) < $(c["mean"]) - 1e-9) {
                printf "mean outside its CI: %s\n", $0; bad = 1 }
            $(c["ci_low"]) != "" && ($(c["ci_low"]) < 0 || ($(c["interval"]) == "wilson" && $(c["ci_high"]) > 1)) {
                printf "interval outside the metric'"'"'s range: %s\n", $0; bad = 1 }
            $(c["metric"]) == "violated" { nv++ } $(c["metric"]) == "viol_per_hour" { nh++ }
            END { if (!nv || !nh) { print "no safety metrics (violated, viol_per_hour)"; bad = 1 }; exit bad }' "$agg" ||
            fail "$e.csv: unmeasured points, broken intervals or no safety"
        if declare -F policy_free >/dev/null; then
            # The claim that every policy runs the point identically: the
            # first policy-free point, seed 1, every policy, same hash.
            pt=$(dm_points | grep -m 1 "policy=$DM_ANY_POLICY")
            if [ -z "$pt" ]; then
                fail "$e: policy_free, but no point ran as policy $DM_ANY_POLICY"
            else
                hashes=$(for v in $pt; do printf -v "${v%%=*}" '%s' "${v#*=}"; done
                    for policy in $(dm_values policy); do
                        sim_args
                        "$sim" "${args[@]}" --seed 1 2>/dev/null | tail -n 1 | tr ' ' '\n' | sed -n 's/^hash=//p'
                    done | sort -u)
                [ "$(printf '%s\n' "$hashes" | grep -c .)" -eq 1 ] &&
                    ok "$e: at $pt every policy's run has hash $hashes" ||
                    fail "$e: at $pt the policies' runs differ (hashes $(echo $hashes)): policy_free is wrong"
            fi
        fi
        [ "$fails" -eq 0 ] && ok "$e: $npoints points x $seeds seeds x $nmetrics metrics"
        check_figure "$out/$e"
        case $e in
            availability)
                header_has "$agg" policy n p mean ci_low ci_high runs analytic ||
                    fail "availability.csv lacks policy,n,p,mean,ci_low,ci_high,runs,analytic" ;;
            safety | frontier | correlated | churn-scale | partition-sides | faults-latency)
                v=$(awk -f "$top/analysis/select.awk" -v where=policy=ae,metric=violated "$agg" |
                    awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "mean") k = i; next } { s += $k } END { print s + 0 }')
                [ "$v" = 0 ] && ok "$e: ae has no mutual-exclusion violation" ||
                    fail "$e: ae violated safety (fraction of runs summed over points: $v)" ;;&   # and on to the experiment's own checks below
            messages)
                for n in $(dm_values n); do
                    got=$(value "$agg" "mode=uncontended,policy=$DM_ANY_POLICY,n=$n,metric=msgs_per_acq" mean)
                    want=$(awk -F, -v n="$n" '$1 == n { print $3 }' "$out/messages-theory.csv")
                    # Maekawa's 3(K-1) (REQUEST, GRANT, RELEASE; the fence
                    # round's KEEP and KEPT go only to members whose grant id
                    # is below the token, none where the counters are alike),
                    # up to 5(K-1) and 2% above where they are not, or where
                    # the adaptive timeout re-sends when a round trip lands
                    # in the latency jitter's tail (exactness without jitter
                    # is pinned by test_node).
                    if [ -n "$got" ] && awk -v g="$got" -v w="$want" 'BEGIN { exit !(g >= w && g <= 1.02 * 5 / 3 * w) }'; then
                        ok "messages: N=$n uncontended ae costs $got, between 3(K-1) = $want and 5(K-1) (+2% at most)"
                    else
                        fail "messages: N=$n uncontended ae costs $got, not between 3(K-1) = $want and 5(K-1) (+2% at most)"
                    fi
                done ;;
            partition-sides)
                # The per-side metric: a cut-off leaf of the tree can form no
                # quorum, the other 14 lose nothing.
                a=$(value "$agg" "shape=isolate-leaf,policy=ae,quorum=tree,metric=served_a" mean)
                b=$(value "$agg" "shape=isolate-leaf,policy=ae,quorum=tree,metric=served_b" mean)
                if [ "$a" = 0 ] && awk -v b="$b" 'BEGIN { exit !(b >= 0.95) }'; then
                    ok "partition-sides: isolated leaf served $a, the rest $b"
                else
                    fail "partition-sides: isolated leaf served '$a' (want 0), the rest '$b' (want >= 0.95)"
                fi ;;
            qsys-messages)
                for q in $(dm_values quorum); do for n in $(dm_values n); do
                    got=$(value "$agg" "mode=uncontended,quorum=$q,n=$n,metric=msgs_per_acq" mean)
                    want=$(awk -F, -v q="$q" -v n="$n" '$1 == q && $2 == n { print $4 }' "$out/qsys-messages-theory.csv")
                    if [ -n "$got" ] && awk -v g="$got" -v w="$want" 'BEGIN { exit !(g >= w && g <= 1.02 * w) }'; then
                        ok "qsys-messages: $q N=$n uncontended costs $got, 3(K-1) = $want"
                    else
                        fail "qsys-messages: $q N=$n uncontended costs $got, not 3(K-1) = $want (+2% at most)"
                    fi
                done; done ;;
            sustained)
                got=$(value "$agg" "policy=ae,n=7,crashed=2,metric=served" mean)
                [ "$got" = 1 ] && ok "sustained: ae serves every request with 2 of 7 crashed" ||
                    fail "sustained: ae served $got with 2 of 7 crashed (any 2 failures leave a quorum)" ;;
        esac
        [ "$fails" -eq 0 ]
    ) || fails=$((fails + 1))
done

# A user's own experiment, outside the tree (experiments/README.md, "Your own
# experiment"): the definition by its path, its figure script next to it
# (there is no analysis/userexp.gp), style.gp's helpers available to it.
own=$(mktemp -d) || exit 99
cat >"$own/userexp.exp" <<'EOF_EXP'
name=userexp
params="n"
param_n="3 5"
seeds=2
duration=2
record="acquisitions"
sim_args() { args=(--nodes "$n" --faults none --duration "$duration"); }
EOF_EXP
cat >"$own/userexp.gp" <<'EOF_GP'
set output out('userexp')
set title "acquisitions vs N\n" . subtitle(nlabel)
plot sel('metric=acquisitions') using 'n':'mean':'ci_low':'ci_high' with yerrorlines \
        pt ptype(plabel('ae'), 1) lc rgb shade('ae', 1) title 'mine', \
     sel('metric=acquisitions') using 'n':(unsafe(column('mean'))) @UNSAFE notitle
EOF_GP
abssim=$(cd "$(dirname "$sim")" && pwd)/$(basename "$sim")
(cd "$own" && "$top/experiments/run.sh" --quick --fresh --sim "$abssim" --out "$own/out" ./userexp.exp) \
    >"$own/log" 2>&1
rc=$?
sed 's/^/  | /' "$own/log"
if [ "$rc" -ne 0 ]; then
    fail "run.sh on an out-of-tree .exp exited $rc"
else
    raw=$own/out/userexp-raw.csv
    [ "$(head -n 1 "$raw" 2>/dev/null)" = "experiment,n,seed,exit,acquisitions,violated,viol_per_hour" ] &&
        [ "$(grep -c '^userexp,[35],[12],[01],[0-9]' "$raw")" -eq 4 ] &&
        [ "$(grep -c '^[35],acquisitions,' "$own/out/userexp.csv" 2>/dev/null)" -eq 2 ] &&
        ok "out-of-tree experiment: userexp-raw.csv and userexp.csv" ||
        fail "out-of-tree experiment: $raw or userexp.csv wrong (4 runs, 2 points wanted)"
    check_figure "$own/out/userexp"
fi
rm -rf "$own"

[ "$fails" -eq 0 ] || { echo "experiments-quick: $fails failure(s)"; exit 1; }
if [ "$skips" -gt 0 ]; then
    echo "experiments-quick: SKIPPED: $skips experiment(s) wait for simulator features (see above)"
    exit 77
fi
echo "experiments-quick: all checks passed"
