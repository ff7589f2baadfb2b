# analysis/aggregate.awk -- per-point mean, standard deviation, n and 95%
# interval of every metric of an experiment's raw CSV, the interval chosen by
# the metric's kind (analysis/metric-kinds.txt), and the point's safety.
# POSIX awk (mawk, gawk, busybox): no gawk extensions.
#
#   awk -F, -v kinds=analysis/metric-kinds.txt -f analysis/aggregate.awk \
#       results/full/NAME-raw.csv > NAME.csv
#
# Input: the header names the columns; those between "experiment" and "seed"
# are the swept parameters, those after "exit" the metrics; one row per run.
# Output: one row per (point, metric), points in order of first appearance:
#   <params...>,metric,mean,sd,runs,ci_low,ci_high,interval,unsafe_runs
# runs counts the runs with a numeric value for that metric (empty cells are
# "not measured", e.g. a latency percentile of a run without a grant).
# interval names the method: wilson, bootstrap or t (see metric-kinds.txt);
# ci_low and ci_high are empty when runs < 2. unsafe_runs is the number of the
# point's runs with a safety violation (the metric `violated`, which job.sh
# adds to every experiment; empty when the raw CSV has no such column), so a
# figure can mark every point that came from unsafe runs.

function isnum(s) { return s ~ /^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$/ }

# Two-sided 95% quantile of Student's t with df degrees of freedom: exact
# table to 30, then linear in 1/df between 30, 40, 60, 120 and infinity
# (error below 0.001).
function t975(df,   lo, hi, tlo, thi) {
    if (df <= 30) return T[df]
    if (df <= 40) { lo = 30; hi = 40 } else if (df <= 60) { lo = 40; hi = 60 }
    else if (df <= 120) { lo = 60; hi = 120 } else { return T[120] + (Z - T[120]) * (1 - 120 / df) }
    tlo = T[lo]; thi = T[hi]
    return tlo + (thi - tlo) * (1 / lo - 1 / df) / (1 / lo - 1 / hi)
}

# Wilson score interval for a proportion p over n trials: sets LO and HI,
# always inside [0, 1].
function wilson(p, n,   z2, d, c, h) {
    z2 = Z * Z
    d = 1 + z2 / n
    c = (p + z2 / (2 * n)) / d
    h = Z * sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / d
    LO = c - h; HI = c + h
    if (LO < 0) LO = 0
    if (HI > 1) HI = 1
}

# A deterministic uniform index in 1..n: a 32-bit LCG (Numerical Recipes'
# constants) in doubles, exact below 2^53, so every awk draws the same
# resamples (awk's own rand() differs between implementations).
function draw(n) {
    RNG = (1664525 * RNG + 1013904223) % 4294967296
    return int(RNG / 4294967296 * n) + 1
}

# Heapsort of a[1..n], ascending: no recursion (mawk's evaluation stack is
# small) and n log n even when many values are equal.
function sift(a, i, n,   c, t) {
    while ((c = 2 * i) <= n) {
        if (c < n && a[c + 1] > a[c]) c++
        if (a[i] >= a[c]) return
        t = a[i]; a[i] = a[c]; a[c] = t
        i = c
    }
}
function hsort(a, n,   i, t) {
    for (i = int(n / 2); i >= 1; i--) sift(a, i, n)
    for (i = n; i > 1; i--) { t = a[1]; a[1] = a[i]; a[i] = t; sift(a, 1, i - 1) }
}

# Percentile bootstrap of the mean of the c values V[k, 1..c]: B resamples,
# the 2.5% and 97.5% points of their means in LO and HI. The generator
# restarts at the same seed for every row, so a row's interval depends on its
# own values only (not on the rows before it).
function bootstrap(k, c,   b, i, s, m) {
    RNG = 20240613
    for (b = 1; b <= B; b++) {
        s = 0
        for (i = 1; i <= c; i++) s += V[k, draw(c)]
        m[b] = s / c
    }
    hsort(m, B)
    LO = m[int(0.025 * B + 0.5)]; HI = m[int(0.975 * B + 0.5)]
}

BEGIN {
    FS = ","
    Z = 1.959964
    B = 1000
    split("12.706205 4.302653 3.182446 2.776445 2.570582 2.446912 2.364624 2.306004 " \
          "2.262157 2.228139 2.200985 2.178813 2.160369 2.144787 2.131450 2.119905 " \
          "2.109816 2.100922 2.093024 2.085963 2.079614 2.073873 2.068658 2.063899 " \
          "2.059539 2.055529 2.051831 2.048407 2.045230 2.042272", T, " ")
    T[40] = 2.021075; T[60] = 2.000298; T[120] = 1.979930
    if (kinds == "") { print "aggregate.awk: -v kinds=FILE (analysis/metric-kinds.txt) is required" > "/dev/stderr"; bad = 1; exit 2 }
    while ((r = getline line < kinds) > 0) {
        if (line ~ /^#/ || line !~ /[^ \t]/) continue
        split(line, f, " ")
        if (f[2] !~ /^(proportion|fraction|count|heavy|mean)$/) {
            print "aggregate.awk: " kinds ": metric " f[1] ": unknown kind '" f[2] "'" > "/dev/stderr"; bad = 1; exit 2
        }
        KIND[f[1]] = f[2]
    }
    if (r < 0) { print "aggregate.awk: cannot read " kinds > "/dev/stderr"; bad = 1; exit 2 }
}

NR == 1 {
    seedcol = exitcol = violcol = 0
    for (i = 1; i <= NF; i++) {
        if ($i == "seed") seedcol = i
        if ($i == "exit") exitcol = i
        if ($i == "violated") violcol = i
    }
    if ($1 != "experiment" || seedcol < 2 || exitcol != seedcol + 1) {
        print "aggregate.awk: " FILENAME ": not a raw experiment CSV (header: " $0 ")" > "/dev/stderr"
        bad = 1; exit 2
    }
    hdr = ""
    for (i = 2; i < seedcol; i++) hdr = hdr $i ","
    print hdr "metric,mean,sd,runs,ci_low,ci_high,interval,unsafe_runs"
    nmet = 0
    for (i = exitcol + 1; i <= NF; i++) {
        metric[++nmet] = $i
        if (!($i in KIND)) {
            print "aggregate.awk: metric " $i " has no kind in " kinds ": using Student t" > "/dev/stderr"
            KIND[$i] = "mean"
        }
    }
    firstmet = exitcol + 1
    next
}

/^#/ || NF == 0 { next }

{
    key = ""
    for (i = 2; i < seedcol; i++) key = key $i ","
    if (!(key in seen)) { seen[key] = 1; order[++npts] = key }
    if (violcol && $violcol + 0 > 0) unsafe[key]++
    for (j = 1; j <= nmet; j++) {
        v = $(firstmet + j - 1)
        if (!isnum(v)) continue
        k = key SUBSEP j
        # Welford's running mean and sum of squared deviations.
        c = ++cnt[k]
        V[k, c] = v + 0
        if (v != 0 && v != 1) frac[k] = 1
        d = v - mu[k]
        mu[k] += d / c
        m2[k] += d * (v - mu[k])
    }
}

END {
    if (bad) exit 2
    for (p = 1; p <= npts; p++) {
        us = violcol ? unsafe[order[p]] + 0 : ""
        for (j = 1; j <= nmet; j++) {
            k = order[p] SUBSEP j
            c = cnt[k] + 0
            kind = KIND[metric[j]]
            how = kind == "proportion" || kind == "fraction" ? "wilson" : kind == "mean" ? "t" : "bootstrap"
            if (c == 0) {
                printf "%s%s,,,0,,,%s,%s\n", order[p], metric[j], how, us
                continue
            }
            if (c < 2) {
                printf "%s%s,%.8g,,1,,,%s,%s\n", order[p], metric[j], mu[k], how, us
                continue
            }
            m = mu[k]
            sd = sqrt(m2[k] / (c - 1))
            if (how == "wilson") {
                # Runs that measured 0 or 1 only are Bernoulli trials. A
                # fraction per run (availability, served) carries more than one
                # trial: n is the effective sample size, the number of trials
                # whose binomial variance p(1-p)/n equals the mean's observed
                # variance sd^2/c (Kish). Every run alike: no spread seen,
                # the interval is the point.
                if (m < 0 || m > 1) {
                    printf "aggregate.awk: %s at %s: mean %g is not a proportion\n", metric[j], order[p], m > "/dev/stderr"
                    bad = 1; exit 2
                }
                # A fraction of time or of requests is never a Bernoulli
                # trial, even where every run measured 0 or 1 (a side cut off
                # from every quorum, a quorum that never went away): treating
                # ten such runs as ten trials drew bars from 1 down to 0.72.
                if (!(k in frac) && kind != "fraction") wilson(m, c)
                else if (sd == 0) { LO = HI = m }
                else wilson(m, m * (1 - m) * c / (sd * sd))
            } else if (how == "bootstrap") {
                bootstrap(k, c)
            } else {
                h = t975(c - 1) * sd / sqrt(c)
                LO = m - h; HI = m + h
                if (LO < 0 && m >= 0) LO = 0
            }
            printf "%s%s,%.8g,%.8g,%d,%.8g,%.8g,%s,%s\n", order[p], metric[j], m, sd, c, LO, HI, how, us
        }
    }
}
