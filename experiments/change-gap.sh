#!/bin/sh
# change-gap.sh -- how long does a configuration change of the epoch policy
# leave the lock without a grant?
#
# Usage: experiments/change-gap.sh [SEEDS [N [K]]]
#   SEEDS  runs (default 30, seeds 1..SEEDS); N nodes (15); K sequential
#          crashes, 15 s apart, never restarted (7), as in kfailures.exp
#   DM_SIM the simulator (default ./dmutex-sim)
#
# For every change (the first install of each new epoch anywhere in the fault
# phase) it takes the time to the next GRANTED anywhere: the lock's outage
# plus the ordinary wait for the next request. The same seed under ae, at
# the same instants, gives that ordinary wait for comparison (ae changes
# nothing, its grants only wait for requests and for its own substitutions).
# Prints the distribution (p50, p90, max) of both, in seconds.
set -u
seeds=${1:-30} n=${2:-15} k=${3:-7}
sim=${DM_SIM:-./dmutex-sim}
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
sched= at=5 i=1
while [ "$i" -le "$k" ]; do
    sched="$sched${sched:+; }at=$at crash=random"; at=$((at + 15)); i=$((i + 1))
done
dur=$((at + 50))
for s in $(seq 1 "$seeds"); do
    for pol in epoch ae; do
        "$sim" --seed "$s" --nodes "$n" --policy "$pol" --duration "$dur" --set workload.load=0.3 \
            --faults scripted --set "faults.schedule=$sched" --trace - 2>/dev/null |
            awk -v d="$dur" '$3 == "EPOCH" || $3 == "GRANTED" { if ($1 < d) print $1, $3, $4 }' \
            > "$tmp/$pol.$s"
    done
    # The change instants of the epoch run, then the next grant after each,
    # in the epoch run and in the ae run.
    awk '$2 == "EPOCH" && !seen[$3]++ && $3 > 1 { print $1 }' "$tmp/epoch.$s" > "$tmp/changes.$s"
    for pol in epoch ae; do
        awk 'NR == FNR { t[++n] = $1; next } $2 == "GRANTED" { g[++m] = $1 }
             END { for (i = 1; i <= n; i++) { for (j = 1; j <= m && g[j] <= t[i]; j++) ;
                   if (j <= m) printf "%.6f\n", g[j] - t[i] } }' \
            "$tmp/changes.$s" "$tmp/$pol.$s" >> "$tmp/gaps.$pol"
    done
done
for pol in epoch ae; do
    sort -n "$tmp/gaps.$pol" | awk -v p="$pol" '{ v[++n] = $1 }
        END { if (!n) { print p ": no changes"; exit }
              printf "%-6s %d changes: next grant after p50 %.3f s, p90 %.3f s, max %.3f s\n", p, n,
                  v[int(0.5 * n + 0.5) < 1 ? 1 : int(0.5 * n + 0.5)], v[int(0.9 * n + 0.5)], v[n] }'
done
