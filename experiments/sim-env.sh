# sim-env.sh -- what the POSIX-sh experiment scripts share (common.sh is for
# the bash ones). Source it after `set -eu`:
#   . "$(dirname "$0")/sim-env.sh"
# It sets `here` (the source tree), `sim` (DM_SIM, else the tree's
# dmutex-sim, else the one on PATH) and `out` (OUT, created, else a temporary
# directory removed at exit), and defines key KEY FILE: a key's value in the
# summary line that ends FILE.
here=$(cd "$(dirname "$0")/.." && pwd)
sim=${DM_SIM:-}
if [ -z "$sim" ]; then
    if [ -x "$here/dmutex-sim" ]; then sim=$here/dmutex-sim; else sim=dmutex-sim; fi
fi
if [ -n "${OUT:-}" ]; then
    out=$OUT
    mkdir -p "$out"
else
    out=$(mktemp -d)
    trap 'rm -rf "$out"' EXIT
fi

key() { tail -n 1 "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
