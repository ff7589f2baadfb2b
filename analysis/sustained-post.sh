#!/bin/sh
# analysis/sustained-post.sh DIR -- experiment 7's analytic side:
# DIR/sustained-analytic.csv: n,crashed,quorum_fraction -- the fraction of
# the C(n,k) sets of k crashed members that leave a quorum of the fixed AE
# tree (what ae can serve at best), for every n in the data, k = 0..n.
# Counted exactly by dynamic programming over the tree (analysis/ae.awk's
# shape): for a subtree, Y[j] = number of j-member crash sets inside it that
# leave it a quorum (an empty subtree always has the empty quorum, but no
# non-empty one).
dir=${1:?usage: sustained-post.sh DIR}
awk -F, '
function binom(n, k,   r, i) { if (k < 0 || k > n) return 0; r = 1; for (i = 1; i <= k; i++) r = r * (n - k + i) / i; return r }
# Fills YA[m, j] (quorum, possibly empty) and YD[m, j] (non-empty quorum)
# for a subtree of m members.
function count(m,   l, r, jl, jr, up, t) {
    if (m in done) return
    done[m] = 1
    if (m == 0) { YA[0, 0] = 1; YD[0, 0] = 0; return }
    l = int((m - 1) / 2); r = m - 1 - l
    count(l); count(r)
    for (t = 0; t <= m; t++) { YA[m, t] = 0 }
    for (jl = 0; jl <= l; jl++)
        for (jr = 0; jr <= r; jr++) {
            # root up: a quorum unless both subtrees lack one
            up = binom(l, jl) * binom(r, jr) - (binom(l, jl) - YA[l, jl]) * (binom(r, jr) - YA[r, jr])
            YA[m, jl + jr] += up
            # root down: non-empty quorums of both subtrees
            YA[m, jl + jr + 1] += YD[l, jl] * YD[r, jr]
        }
    for (t = 0; t <= m; t++) YD[m, t] = YA[m, t]
}
NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
!($(c["n"]) in seen) { seen[$(c["n"])] = 1; ns[++k] = $(c["n"]) + 0 }
END {
    print "n,crashed,quorum_fraction"
    for (i = 1; i <= k; i++) {
        count(ns[i])
        for (j = 0; j <= ns[i]; j++) printf "%d,%d,%.8f\n", ns[i], j, YA[ns[i], j] / binom(ns[i], j)
    }
}' "$dir/sustained.csv" >"$dir/sustained-analytic.csv"
