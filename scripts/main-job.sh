#!/usr/bin/env bash
# scripts/main-job.sh -- the main job: the default simulation, its summary
# and its figure.
#
# Runs ./dmutex-sim with no scenario (5 nodes; the lock holder crashes at
# 10 s, the network splits in halves at 30 s; mutual exclusion, fencing and
# liveness checked after every event), prints its summary, and draws that
# same run's quorum-convergence timeline (each node's quorum size and view
# size over time, faults shaded) to results/main/default-timeline.{png,svg}.
# Without gnuplot the figure is skipped and the timeline CSV is kept.
# Exit status: the simulator's (0 clean, 1 a violation), or 2.
set -euo pipefail
cd "$(dirname "$0")/.."

[ -x ./dmutex-sim ] || { echo "main-job.sh: build first (make)" >&2; exit 2; }
out=results/main
mkdir -p "$out"
status=0
./dmutex-sim --timeline "$out/default-timeline.csv" || status=$?
[ "$status" -le 1 ] || exit "$status"
experiments/timeline.sh --from-csv "$out/default-timeline.csv" --out "$out/default-timeline" \
    --title "Default simulation: quorum size and view per node (5 nodes, policy ae, seed 1)"
echo "main-job.sh: figure in $out/default-timeline.png (and .svg), data in $out/default-timeline.csv"
exit "$status"
