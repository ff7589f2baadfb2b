#!/bin/sh
# memberlist-hazard.sh -- how often does the memberlist policy break mutual
# exclusion, and how; and does ae, over the very same seeds, never?
#
# Usage: experiments/memberlist-hazard.sh [SEEDS [FIRST_SEED]]
#   SEEDS       runs per policy (default 1000), seeds FIRST_SEED.. (default 1)
#   DM_SIM      the simulator (default: ./dmutex-sim, then dmutex-sim on PATH)
#   NODES       cluster size (default 5); DURATION fault phase seconds (60)
#   OUT         keep the per-run CSVs here (default: a temporary directory)
#
# Faults: crashes and partitions of every shape (halves, random halves,
# isolate one, bridge, majorities ring, one-way), rates and mean lengths drawn
# per seed (dmutex-sim --faults crash,partition), the default workload (one
# lock, load 0.5, holds drawn from 10 ms to 1.5 leases), SWIM at memberlist's
# LAN defaults. Both policies see the same seeds, hence the same fault draws.
#
# Prints, per policy, the runs that broke safety, split into
#   mutex   two holders overlapped (the checker's mutual-exclusion violation);
#   token   no overlap, but a holder got a token not above its predecessor's
#           (fencing broken: quorums that did not intersect numbered grants
#           from different counters);
# how the first mutual-exclusion violation happened (whether the live
# members' views agreed, whether the new holder's view still held the
# earlier holder, which partition shape was in force), other failures (not
# safety: liveness, API contract), and one command that replays a seed with
# a mutual-exclusion violation. Exit status 0 when ae stayed clean, 1 if not.
set -eu

seeds=${1:-1000}
first=${2:-1}
nodes=${NODES:-5}
duration=${DURATION:-60}
. "$(dirname "$0")/sim-env.sh"

run() {   # run POLICY: one sweep, its runs CSV in $out/POLICY.csv
    "$sim" --policy "$1" --faults crash,partition --nodes "$nodes" --duration "$duration" \
        --seed "$first" --runs "$seeds" --csv-runs "$out/$1.csv" >"$out/$1.out" || true
    tail -n 1 "$out/$1.out" | grep -q '^runs=' || {
        echo "memberlist-hazard: $sim failed:" >&2
        tail -n 5 "$out/$1.out" >&2
        exit 2
    }
}

# Summarise one runs CSV (columns found by name).
report() {
    awk -F, -v policy="$1" -v sim="$sim" -v nodes="$nodes" -v duration="$duration" '
    NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
    {
        runs++
        m = $col["mutex_violations"] + 0; t = $col["token_violations"] + 0
        f = $col["fence_violations"] + 0
        if (m > 0) {
            mutex++
            key = "views " ($col["violation_views_agree"] == 1 ? "agreed" : "differed")
            key = key ", earlier holder " ($col["violation_holder_in_view"] == 1 ? "in" : "NOT in") \
                  " the new holder'"'"'s view"
            how[key]++
            shape[$col["violation_shape"]]++
            if (replay == "") replay = $col["seed"]
        } else if (t > 0 || f > 0) {
            token++
            tshape[$col["violation_shape"] == "none" ? "after the heal / no partition" : "during a partition"]++
        } else if ($col["failed"] == 1) {
            other++
            if ($col["liveness_failures"] > 0) live++
            if ($col["stuck_ticks"] > 0 || $col["api_errors"] > 0) api++
            if (api_seed == "" && $col["stuck_ticks"] > 0) api_seed = $col["seed"]
        }
    }
    END {
        printf "%-10s %d/%d runs broke safety: %d with overlapping holders (mutex), %d with fencing tokens only (token)\n",
               policy, mutex + token, runs, mutex, token
        for (k in how) printf "           mutex: %d x %s\n", how[k], k
        for (k in shape) printf "           mutex: %d x partition in force at the violation: %s\n", shape[k], k
        for (k in tshape) printf "           token: %d x %s\n", tshape[k], k
        if (other) printf "           other failures (not safety): %d (%d liveness, %d core API contract%s)\n",
                          other, live, api, api_seed != "" ? ", e.g. stuck ticks at seed " api_seed : ""
        if (replay != "")
            printf "           replay:  %s --seed %s --policy %s --faults crash,partition --nodes %s --duration %s\n",
                   sim, replay, policy, nodes, duration
        exit (mutex + token > 0)
    }' "$out/$1.csv"
}

run memberlist
run ae
echo "memberlist-hazard: $seeds seeds from $first, $nodes nodes, crash+partition, ${duration} s fault phase"
report memberlist || true
if report ae; then
    exit 0
fi
exit 1
