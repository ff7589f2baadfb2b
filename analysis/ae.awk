# analysis/ae.awk -- the Agrawal-El Abbadi tree over N sorted members, as
# dmutex builds it (DESIGN.md section 3): the balanced BST with the root of
# every range at index (lo+hi)/2, so a subtree's shape depends only on its
# size m: left size floor((m-1)/2), right size m-1-left. POSIX awk functions,
# for use with awk -f ae.awk -f other.awk.

# Exact availability: every member up independently with probability p.
# A(empty) = 1 but D(empty) = 0 (D: a non-empty quorum exists); for a
# non-empty subtree A = D = p(1 - (1-A(L))(1-A(R))) + (1-p) D(L) D(R).
function ae_avail(m, p,   l, r, al, ar, dl, dr) {
    if (m <= 0) return 1
    if ((m, p) in AE_MEMO) return AE_MEMO[m, p]
    l = int((m - 1) / 2); r = m - 1 - l
    al = ae_avail(l, p); ar = ae_avail(r, p)
    dl = l > 0 ? al : 0; dr = r > 0 ? ar : 0
    return AE_MEMO[m, p] = p * (1 - (1 - al) * (1 - ar)) + (1 - p) * dl * dr
}

# Size of the failure-free quorum of member 0 (the path from the root to the
# leftmost member, where the quorum ends at a node with an empty subtree).
function ae_path0(m,   l) {
    if (m <= 0) return 0
    l = int((m - 1) / 2)
    return 1 + (l > 0 ? ae_path0(l) : 0)
}
