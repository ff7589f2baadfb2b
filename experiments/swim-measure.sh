#!/bin/sh
# swim-measure.sh -- SWIM (core/membership.c) as the simulator sees it, at
# memberlist's LAN defaults (probe 1 s, timeout 0.5 s, K = 3, suspicion
# mult 4, max mult 6, retransmit mult 4, push/pull 30 s). Prints three
# tables:
#
#  1. crash detection vs n (5, 32, 128): one crash per run at the middle of
#     the fault phase (faults.crash_count=1), no lock workload; the time to
#     the first suspicion by any live member (mean, in seconds and in
#     protocol periods: SWIM predicts e/(e-1) = 1.58 periods), the median
#     and worst time until every live member holds the node dead, and until
#     all live members agree on one view;
#  2. false suspicions and deaths of running members over one simulated
#     hour at 5 % uniform message loss, n = 8 and 32 (goal: no false death);
#  3. membership messages and bytes per member per second without faults,
#     n = 8, 32, 128 (goal: flat in n).
#
# Usage: experiments/swim-measure.sh [quick]
#   DM_SIM  the simulator (default: ./dmutex-sim, then dmutex-sim on PATH)
#   OUT     keep every run's output and CSV here (default: a temporary dir)
# "quick" runs a tenth of the seeds and a tenth of the hour.
set -eu

. "$(dirname "$0")/sim-env.sh"
quick=${1:-}
scale() { if [ "$quick" = quick ]; then echo $(( ($1 + 9) / 10 )); else echo "$1"; fi; }


# sim NAME ARGS...: run, keep stdout in $out/NAME.out; exit status 1 (a
# violation) is reported but does not stop the measurement.
sim() {
    name=$1
    shift
    rc=0
    "$sim" --set workload.interarrival=0 "$@" >"$out/$name.out" 2>"$out/$name.err" || rc=$?
    [ "$rc" -le 1 ] || { echo "swim-measure: $sim $*: exit $rc" >&2; cat "$out/$name.err" >&2; exit 2; }
    [ "$rc" -eq 0 ] || echo "  (note: $name reported a failure: $(grep -m1 '^FAILED' "$out/$name.out"))"
}

echo "# 1. crash detection (one crash per run, LAN defaults, no workload)"
printf '%-5s %-6s %-9s %-9s %-9s %-9s %-9s %-9s %-9s\n' n crashes suspect_s periods dead_p50 dead_max conv_p50 conv_max converged
for spec in "5 200 60" "32 100 80" "128 40 120"; do
    set -- $spec
    n=$1 runs=$(scale "$2") dur=$3
    sim "detect-$n" --nodes "$n" --faults crash --set faults.crash_count=1 --duration "$dur" \
        --runs "$runs" --csv-members "$out/detect-$n.csv"
    f=$out/detect-$n.out
    s=$(key suspect_s_mean "$f")
    printf '%-5s %-6s %-9s %-9s %-9s %-9s %-9s %-9s %-9s\n' "$n" "$(key detections "$f")" "$s" \
        "$(awk -v s="$s" 'BEGIN { if (s == "na") print "na"; else printf "%.2f", s / 1.0 }')" \
        "$(key dead_s_p50 "$f")" "$(key dead_s_max "$f")" "$(key converge_s_p50 "$f")" \
        "$(key converge_s_max "$f")" "$(key detections_converged "$f")"
done

hour=$(scale 3600)
echo
echo "# 2. false suspicions and deaths, ${hour} simulated seconds at 5% loss (no workload)"
printf '%-5s %-10s %-12s %-12s %-12s\n' n seconds suspicions deaths per_member_h
for n in 8 32; do
    sim "loss-$n" --nodes "$n" --faults loss --set network.loss=0.05 --duration "$hour"
    f=$out/loss-$n.out
    printf '%-5s %-10s %-12s %-12s %-12s\n' "$n" "$hour" "$(key false_suspicions "$f")" \
        "$(key false_deaths "$f")" \
        "$(awk -v d="$(key false_deaths "$f")" -v n="$n" -v t="$hour" 'BEGIN { printf "%.4f", d / n / (t / 3600) }')"
done

echo
echo "# 3. membership traffic per member, no faults (300 s, no workload)"
printf '%-5s %-12s %-12s %-12s\n' n msgs_per_s bytes_per_s bytes_per_msg
for n in 8 32 128; do
    sim "traffic-$n" --nodes "$n" --faults none --duration 300
    f=$out/traffic-$n.out
    m=$(key member_msgs_per_s "$f")
    b=$(key member_bytes_per_s "$f")
    printf '%-5s %-12s %-12s %-12s\n' "$n" "$m" "$b" "$(awk -v m="$m" -v b="$b" 'BEGIN { printf "%.1f", b / m }')"
done
