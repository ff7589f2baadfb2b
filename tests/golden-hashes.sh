#!/bin/sh
# tests/golden-hashes.sh -- the simulator's behaviour, pinned.
#
# tests/data/golden-hashes.txt lists runs of dmutex-sim, one per line:
#   HASH ARGS...
# where HASH is the 64-bit trace hash the run's summary line ends with. They
# cover both policies, every fault kind, every scenario file, swarm mode and
# the codec round trip, so a restructuring that is meant to keep behaviour
# shows at once whether it did. A change that alters behaviour on purpose
# regenerates the list in the same commit and says why:
#   tests/golden-hashes.sh --update      (DM_SIM and DM_SCENARIOS as below)
# ARGS may name a scenario as @NAME, meaning $DM_SCENARIOS/NAME.
# Environment: DM_SIM (the simulator), DM_SCENARIOS (sim/scenarios).
set -u
sim=${DM_SIM:?DM_SIM is not set}
scen=${DM_SCENARIOS:?DM_SCENARIOS is not set}
list="$(dirname "$0")/data/golden-hashes.txt"
update=0
[ "${1:-}" = --update ] && update=1

# The hash of one run (its exit status is not the point here: the
# drift scenario exits 1 by design).
run_hash() {
    args=$(printf '%s\n' "$*" | sed "s|@\([^ ]*\)|$scen/\1|g")
    # shellcheck disable=SC2086  # ARGS are words by construction
    "$sim" $args 2>/dev/null | tail -n 1 | sed -n 's/.* hash=\([0-9a-f]\{16\}\).*/\1/p'
}

fails=0 n=0
tmp=$(mktemp) || exit 99
trap 'rm -f "$tmp"' EXIT
while read -r want args; do
    case $want in ''|'#'*) printf '%s %s\n' "$want" "$args" >>"$tmp"; continue ;; esac
    got=$(run_hash "$args")
    n=$((n + 1))
    if [ "$update" -eq 1 ]; then
        printf '%s %s\n' "$got" "$args" >>"$tmp"
    elif [ "$got" != "$want" ]; then
        echo "FAIL: dmutex-sim $args: hash $got, pinned $want"
        fails=$((fails + 1))
    fi
done <"$list"
if [ "$update" -eq 1 ]; then
    sed 's/^ $//' "$tmp" >"$list"
    echo "golden-hashes: $n runs re-pinned in $list"
    exit 0
fi
[ "$n" -gt 0 ] || { echo "FAIL: no runs in $list"; exit 1; }
echo "golden-hashes: $((n - fails)) of $n runs byte-identical"
[ "$fails" -eq 0 ]
