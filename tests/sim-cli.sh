#!/bin/sh
# dmutex-sim as a shell user meets it: exit statuses 0 (clean), 1 (a
# violation or liveness failure), 2 (usage), the summary as the last line,
# a replay command on failure, and the same hash for the same seed.
set -u
sim=${DM_SIM:?DM_SIM is not set}
scen=${DM_SCENARIOS:?DM_SCENARIOS is not set}
out=$(mktemp) && err=$(mktemp) || exit 99
trap 'rm -f "$out" "$err"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# expect STATUS ARGS...: run the simulator, check its exit status
expect() {
    want=$1; shift
    "$sim" "$@" >"$out" 2>"$err"
    got=$?
    [ "$got" -eq "$want" ] || { fail "dmutex-sim $* exited $got, wanted $want"; sed 's/^/  | /' "$err" | tail -n 5; }
}

expect 0
tail -n 1 "$out" | grep -q 'runs=1 .*violations=0 .*liveness_failures=0 .*hash=[0-9a-f]\{16\}' ||
    fail "no-argument run: last line is not the summary: $(tail -n 1 "$out")"

expect 2 --bogus
grep -q 'bogus' "$err" || fail "unknown option not named: $(cat "$err")"
expect 2 --nodes 0
expect 2 --nodes many
expect 2 --faults crash,earthquake
grep -q 'earthquake' "$err" || fail "unknown fault not named: $(cat "$err")"
expect 2 --config /nonexistent/scenario.ini
expect 2 --policy raft
expect 2 --quorum pyramid
grep -q 'tree' "$err" || fail "an unknown quorum system does not list the known ones: $(cat "$err")"
expect 2 --set core.rto_min=0
grep -q 'rto_min' "$err" || fail "a zero rto_min not named: $(cat "$err")"

# Drift beyond the configured bound breaks the leases: caught, and replayable.
expect 1 --config "$scen/drift-beyond-bound.ini"
grep -q 'mutex' "$out" || fail "drift scenario: no mutual-exclusion violation reported"
replay=$(grep -m1 '^replay: ' "$out" | sed 's/^replay: //')
[ -n "$replay" ] || fail "drift scenario: no replay command printed"

# A holder paused past its lease: its stale write is rejected, nothing else.
expect 0 --config "$scen/pause-past-lease.ini"
tail -n 1 "$out" | grep -Eq 'stale_writes_rejected=[1-9]' || fail "pause scenario: no stale write rejected"

# Paused inside the fence round (the simulator found a core bug here).
expect 0 --config "$scen/pause-during-fence.ini"

# The memberlist hazard (sim/scenarios/memberlist-hazard.ini): memberlist
# breaks mutual exclusion, ae in the same scenario does not.
expect 1 --config "$scen/memberlist-hazard.ini"
grep -q '^violation: mutex ' "$out" || fail "memberlist hazard: no mutex violation reported"
tail -n 1 "$out" | grep -q 'mutex_violations=[1-9].* policy=memberlist ' ||
    fail "memberlist hazard: summary: $(tail -n 1 "$out")"
expect 0 --config "$scen/memberlist-hazard.ini" --policy ae
tail -n 1 "$out" | grep -q 'mutex_violations=0 .*policy=ae ' || fail "ae hazard: summary: $(tail -n 1 "$out")"

# memberlist needs membership; unknown [swim] keys are named.
expect 2 --policy memberlist --set swim.enabled=false
grep -q 'swim' "$err" || fail "memberlist without membership: not explained: $(cat "$err")"
expect 2 --set swim.probe_intervall=1
grep -q 'probe_intervall' "$err" || fail "unknown swim key not named: $(cat "$err")"
expect 2 --faults crash --set faults.crash_count=-1

# Crash detection: the summary keys, and one CSV row per crash.
members=$(mktemp) || exit 99
expect 0 --faults crash --set faults.crash_count=2 --duration 60 --set workload.interarrival=0 \
    --csv-members "$members"
for key in suspect_s_mean dead_s_p50 dead_s_max converge_s_p50 converge_s_max false_suspicions \
           false_deaths member_msgs_per_s member_bytes_per_s; do
    tail -n 1 "$out" | grep -Eq " $key=[0-9]" || fail "summary lacks $key: $(tail -n 1 "$out")"
done
[ "$(head -n 1 "$members")" = "seed,n,node,crashed_at,first_suspect_s,dead_all_s,converge_s" ] ||
    fail "--csv-members header: $(head -n 1 "$members")"
[ "$(grep -Ec '^1,5,[0-9],[0-9.]+,[0-9.]+,[0-9.]+,[0-9.]+$' "$members")" -eq 2 ] ||
    fail "--csv-members: not two complete rows: $(cat "$members")"
rm -f "$members"

# Churn: every node alternates exponential up and down periods; the summary
# says for how much of the fault phase a quorum of the full tree existed.
expect 0 --nodes 7 --faults churn --set faults.churn_p=0.8 --set faults.churn_up_mean=5 --duration 200
tail -n 1 "$out" | grep -Eq ' crashes=[1-9][0-9]+ ' || fail "churn: no crashes: $(tail -n 1 "$out")"
tail -n 1 "$out" | grep -Eq ' quorum_available=0\.[0-9]{6} quorum_available_views=0\.[0-9]{6}' ||
    fail "churn: summary lacks quorum_available: $(tail -n 1 "$out")"
grep -q '^faults in force: .*churn_p=0.8 churn_up_mean=5' "$out" || fail "churn: not described: $(cat "$out")"
expect 0 --duration 5 --faults none
tail -n 1 "$out" | grep -q ' quorum_available=1.000000 ' || fail "no faults: quorum not always available"
expect 2 --faults churn --set faults.churn_up_mean=0
grep -q 'churn_up_mean' "$err" || fail "churn_up_mean=0 not named: $(cat "$err")"

# Wipes: a crash that loses the persisted state; counted, and a bad step named.
expect 0 --faults wipe --duration 30 --set faults.wipe_rate=0.2
tail -n 1 "$out" | grep -Eq ' crashes=([0-9]+) restarts=[0-9]+ wipes=[1-9]' ||
    fail "wipe: no wipes counted: $(tail -n 1 "$out")"
grep -q '^faults in force: kinds=wipe .*wipe_rate=0.2 wipe_down=' "$out" || fail "wipe: not described: $(cat "$out")"
expect 2 --set 'faults.schedule=at=1 wipe'
grep -q "'at=1 wipe'" "$err" || fail "wipe without a node: not explained: $(cat "$err")"

# --timeline FILE: every node every [timeline] interval, the fault intervals,
# the liveness phase; the run (its hash) is the same without it.
tl=$(mktemp) || exit 99
expect 0 --timeline "$tl" --set timeline.interval=0.5
with=$(tail -n 1 "$out" | sed -n 's/.* hash=\([0-9a-f]*\).*/\1/p')
[ "$(head -n 1 "$tl")" = "seed,kind,t_start,t_end,node,state,view_size,view_hash,tree_size,quorum_size,detail,holds,epoch" ] ||
    fail "--timeline header: $(head -n 1 "$tl")"
[ "$(grep -c '^1,sample,30.000000,,[0-4],up,[0-9]*,[0-9a-f]\{16\},5,[0-9-]*,,[01],0$' "$tl")" -eq 5 ] ||
    fail "--timeline: not 5 samples at 30 s: $(grep ',sample,30.000000,' "$tl")"
grep -q '^1,fault,10\.[0-9]*,25\.[0-9]*,[0-4],,,,,,crash,,$' "$tl" || fail "--timeline: no crash row: $(grep fault "$tl")"
grep -q '^1,fault,30.000000,40.000000,,,,,,,partition halves {0 1} | {2 3 4},,$' "$tl" ||
    fail "--timeline: no partition row: $(grep fault "$tl")"
grep -q '^1,phase,60.000000,[0-9.]*,,,,,,,liveness,,$' "$tl" || fail "--timeline: no phase row"
expect 0
[ "$(tail -n 1 "$out" | sed -n 's/.* hash=\([0-9a-f]*\).*/\1/p')" = "$with" ] || fail "--timeline changed the hash"
expect 2 --timeline "$tl" --set timeline.interval=0
rm -f "$tl"

# --shrink: the hazard shrinks to a scenario file that fails again; a
# clean run has nothing to shrink (exit 2, said on stderr).
shrunk=$(mktemp) || exit 99
expect 0 --config "$scen/memberlist-hazard.ini" --shrink --shrink-out "$shrunk"
grep -q '^replay: .*--config' "$out" || fail "--shrink: no replay command: $(cat "$out")"
grep -q '^shrink: ddmin' "$err" || fail "--shrink: no progress on stderr"
expect 1 --config "$shrunk"
grep -q 'mutex' "$out" || fail "--shrink: the shrunk scenario does not break mutual exclusion"
rm -f "$shrunk"
expect 2 --shrink --runs 2
grep -q 'no failing run' "$err" || fail "--shrink of a clean run: $(cat "$err")"

# Same seed, same hash; another seed, another hash.
h1=$("$sim" --seed 7 --faults swarm --duration 10 | tail -n 1 | sed -n 's/.*hash=\([0-9a-f]*\).*/\1/p')
h2=$("$sim" --seed 7 --faults swarm --duration 10 | tail -n 1 | sed -n 's/.*hash=\([0-9a-f]*\).*/\1/p')
h3=$("$sim" --seed 8 --faults swarm --duration 10 | tail -n 1 | sed -n 's/.*hash=\([0-9a-f]*\).*/\1/p')
[ -n "$h1" ] && [ "$h1" = "$h2" ] || fail "seed 7 twice gave $h1 and $h2"
[ "$h1" != "$h3" ] || fail "seeds 7 and 8 gave the same hash $h1"

[ "$fails" -eq 0 ] || exit 1
echo "sim-cli: all checks passed"
