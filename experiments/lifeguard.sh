#!/bin/sh
# lifeguard.sh -- Lifeguard's main result (Dadgar et al. 2018), on the same
# seeds: with slow members (the fault kind `slow`: a member reads every
# message DELAY after it arrives, in order, while its timers fire on time),
# how often are HEALTHY members -- neither crashed, paused, cut off nor slow
# -- accused, with Lifeguard on and off? Lifeguard reports more than an
# order of magnitude fewer false positives.
#
# Policy memberlist, no other fault: from 5 s on, SLOW random members are
# slow until the fault phase ends. For each n, delay and setting it prints
# the suspicions and deaths of healthy members summed over the seeds
# (summary keys false_suspicions_healthy, false_deaths_healthy), and per n
# and delay the ratio off/on of each.
#
# Lifeguard off is `--set swim.lifeguard=false` (classic SWIM: no local
# health, a fixed suspicion timeout, no NACKs).
#
# Usage: experiments/lifeguard.sh [quick]
#   DM_SIM    the simulator (default: ./dmutex-sim, then dmutex-sim on PATH)
#   SEEDS     seeds per point at n = 32 (default 10; n = 128 runs half)
#   DURATION  fault phase, seconds (default 120)
#   DELAYS    slow delays, seconds (default "1.5 4 8 16": a slow member
#             declares a healthy one dead only when it reads the refutation
#             after its suspicion timeout, 6 s at n = 32 without Lifeguard)
#   SLOW      slow members (default 1)
#   OUT       keep every run's output here (default: a temporary dir)
# "quick" runs 2 seeds of 30 s.
set -eu

. "$(dirname "$0")/sim-env.sh"
seeds=${SEEDS:-10} duration=${DURATION:-120} delays=${DELAYS:-1.5 4 8 16} slow=${SLOW:-1}
if [ "${1:-}" = quick ]; then seeds=2 duration=30; fi

on="--set swim.lifeguard=true" off="--set swim.lifeguard=false"

# run NAME ARGS...: one point over the seeds; exit status 1 (a violation:
# memberlist may break mutual exclusion when it declares a slow holder dead)
# is a result, not an error.
run() {
    name=$1
    shift
    rc=0
    nice "$sim" --policy memberlist --duration "$duration" "$@" >"$out/$name.out" \
        2>"$out/$name.err" || rc=$?
    [ "$rc" -le 1 ] || { echo "lifeguard: $sim $*: exit $rc" >&2; cat "$out/$name.err" >&2; exit 2; }
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else if (a > 0) print "inf"; else print "-" }'; }

echo "# false accusations of healthy members, $slow slow member(s) from 5 s, policy memberlist"
echo "# on/off: swim.lifeguard=true/false; seeds 1.., ${duration} s each"
printf '%-5s %-6s %-6s %-4s %-12s %-12s %-10s %-10s %-8s\n' n delay seeds set suspicions deaths all_susp all_deaths mutex
for n in 32 128; do
    s=$seeds
    [ "$n" -le 32 ] || s=$(( (seeds + 1) / 2 ))
    for d in $delays; do
        sched=
        i=0
        while [ "$i" -lt "$slow" ]; do
            sched="${sched:+$sched; }at=5 slow=random delay=$d"
            i=$((i + 1))
        done
        for set in on off; do
            if [ "$set" = on ]; then args=$on; else args=$off; fi
            # shellcheck disable=SC2086
            run "$n-$d-$set" --nodes "$n" --runs "$s" --set "faults.schedule=$sched" $args
            f=$out/$n-$d-$set.out
            printf '%-5s %-6s %-6s %-4s %-12s %-12s %-10s %-10s %-8s\n' "$n" "$d" "$s" "$set" \
                "$(key false_suspicions_healthy "$f")" "$(key false_deaths_healthy "$f")" \
                "$(key false_suspicions "$f")" "$(key false_deaths "$f")" "$(key mutex_violations "$f")"
        done
        a=$out/$n-$d-on.out b=$out/$n-$d-off.out
        echo "  n=$n delay=$d ratio off/on: suspicions $(ratio "$(key false_suspicions_healthy "$b")" \
"$(key false_suspicions_healthy "$a")"), deaths $(ratio "$(key false_deaths_healthy "$b")" \
"$(key false_deaths_healthy "$a")")"
    done
done
