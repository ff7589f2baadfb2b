#!/usr/bin/env bash
# experiments/etcd-bench.sh -- dmutex against etcd, same machine, same run:
# experiments/lock-bench.sh with Redlock left out (same options: -n CYCLES,
# -r RUNS, -b BINDIR, -c CPUS; see there). Installs Debian's etcd-server
# first when it is missing (needs root).
set -euo pipefail
if ! command -v etcd >/dev/null 2>&1; then
    cand=$(apt-cache policy etcd-server 2>/dev/null | sed -n 's/ *Candidate: *//p')
    if [ -z "$cand" ] || [ "$cand" = "(none)" ]; then
        apt-get update -qq
        cand=$(apt-cache policy etcd-server | sed -n 's/ *Candidate: *//p')
    fi
    [ -n "$cand" ] && [ "$cand" != "(none)" ] || { echo "etcd-bench: no etcd-server package" >&2; exit 1; }
    echo "installing etcd-server $cand"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends etcd-server >/dev/null
fi
exec "$(dirname "$0")/lock-bench.sh" -s dmutex,etcd "$@"
