#!/bin/sh
# analysis/messages-post.sh DIR -- the reference curves of the messages
# figure, DIR/messages-theory.csv, for N = 3..255:
#   ours_uncontended  3(K-1), K = member 0's failure-free quorum (root to member 0):
#                     REQUEST, GRANT, RELEASE per remote member; the fence round's
#                     KEEP/KEPT go only to members whose grant id is below the
#                     token, none while the quorum's counters agree (PROTOCOL.md)
#   maekawa_low/high  3*sqrt(N) and 5*sqrt(N) (Maekawa, light and heavy load)
#   majority          3*(floor(N/2)+1) (REQUEST, GRANT, RELEASE to a majority)
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:?usage: messages-post.sh DIR}
awk -f "$here/ae.awk" -f - >"$dir/messages-theory.csv" <<'AWK'
BEGIN {
    print "n,k,ours_uncontended,maekawa_low,maekawa_high,majority"
    for (n = 3; n <= 255; n++) {
        k = ae_path0(n)
        printf "%d,%d,%d,%.4f,%.4f,%d\n", n, k, 3 * (k - 1), 3 * sqrt(n), 5 * sqrt(n), 3 * (int(n / 2) + 1)
    }
}
AWK
