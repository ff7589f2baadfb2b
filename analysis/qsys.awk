# analysis/qsys.awk -- the analytic side of the qsys-* experiments: for each
# quorum system dmutex-sim offers (--list quorums), the size of member 0's
# failure-free quorum and the exact availability with every member up
# independently with probability p. They restate what core/quorum_*.c
# compute (dm_quorum_availability), which no tool prints; POSIX awk, used as
# awk -f ae.awk -f qsys.awk -f other.awk (the tree's come from ae.awk).

# Member 0's quorum when nobody has failed.
function qs_size0(q, n,   c, r) {
    if (q == "tree") return ae_path0(n)
    if (q == "majority") return int(n / 2) + 1
    # grid: row 0 (full, c members) united with column 0 (r members).
    c = qs_cols(n); r = int((n + c - 1) / c)
    return c + r - 1
}

# The grid's c = ceil(sqrt(n)) (core/quorum_grid.c).
function qs_cols(n,   c) {
    c = int(sqrt(n)); while (c * c < n) c++; while (c > 1 && (c - 1) * (c - 1) >= n) c--
    return c
}

function qs_avail(q, n, p) {
    if (q == "tree") return ae_avail(n, p)
    if (q == "majority") return qs_majority(n, p)
    return qs_grid(n, p)
}

# P(at least floor(n/2)+1 of n up): the binomial tail, terms built by ratio.
function qs_majority(n, p,   k, t, s) {
    if (p >= 1) return 1
    if (p <= 0) return 0
    t = (1 - p) ^ n; s = 0
    for (k = 0; k <= n; k++) {
        if (k > 0) t = t * (n - k + 1) / k * p / (1 - p)
        if (k >= int(n / 2) + 1) s += t
    }
    return s
}

# P(some row wholly up and some column wholly up) by the dynamic programme
# of core/quorum_grid.c: state (a, b, f) = a long and b short columns still
# wholly up, f = some scanned row was wholly up; rows scanned one by one.
function qs_grid(n, p,   c, r, s, L, M, i, a, b, f, a2, b2, m, full, width, alive, up, res, k) {
    c = qs_cols(n); r = int((n + c - 1) / c); s = n - (r - 1) * c
    L = s; M = c - s
    split("", QS_CUR)
    QS_CUR[L, M, 0] = 1
    for (i = 0; i < r; i++) {
        full = i + 1 < r || s == c
        width = i + 1 < r ? c : s
        split("", QS_NEXT)
        for (k in QS_CUR) {
            split(k, ix, SUBSEP); a = ix[1] + 0; b = ix[2] + 0; f = ix[3] + 0
            m = QS_CUR[k]
            for (a2 = 0; a2 <= a; a2++)
                for (b2 = (full ? 0 : b); b2 <= b; b2++) {
                    w = m * qs_binom(a, a2, p) * (full ? qs_binom(b, b2, p) : 1)
                    if (a2 == a && b2 == b) {
                        alive = full ? a + b : a
                        up = p ^ (width - alive)
                        QS_NEXT[a, b, 1] += w * up
                        QS_NEXT[a, b, f] += w * (1 - up)
                    } else
                        QS_NEXT[a2, b2, f] += w
                }
        }
        split("", QS_CUR)
        for (k in QS_NEXT) QS_CUR[k] = QS_NEXT[k]
    }
    res = 0
    for (k in QS_CUR) { split(k, ix, SUBSEP); if (ix[3] == 1 && ix[1] + ix[2] >= 1) res += QS_CUR[k] }
    return res
}

# C(n, k) p^k (1-p)^(n-k).
function qs_binom(n, k, p,   i, v) {
    v = 1
    for (i = 1; i <= k; i++) v = v * (n - k + i) / i
    return v * p ^ k * (1 - p) ^ (n - k)
}
