#!/bin/sh
# analysis/qsys-messages-post.sh DIR -- the analytic lines of the qsys-messages
# figure, DIR/qsys-messages-theory.csv: for every quorum system and N = 4..256,
# member 0's failure-free quorum K and the uncontended cost 3(K-1) (REQUEST,
# GRANT, RELEASE per remote member; the fence round's KEEP/KEPT only reach
# members whose grant id is below the token, none while the counters agree;
# docs/PROTOCOL.md).
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:?usage: qsys-messages-post.sh DIR}
awk -f "$here/ae.awk" -f "$here/qsys.awk" -f - >"$dir/qsys-messages-theory.csv" <<'AWK'
BEGIN {
    print "quorum,n,k,uncontended"
    nq = split("tree majority grid", qs, " ")
    for (i = 1; i <= nq; i++)
        for (n = 4; n <= 256; n++) { k = qs_size0(qs[i], n); printf "%s,%d,%d,%d\n", qs[i], n, k, 3 * (k - 1) }
}
AWK
