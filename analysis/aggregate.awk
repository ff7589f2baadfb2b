# analysis/aggregate.awk -- per-point mean, standard deviation, n and 95%
# confidence interval of every metric of an experiment's raw CSV.
# POSIX awk (mawk, gawk, busybox): no gawk extensions.
#
#   awk -F, -f analysis/aggregate.awk results/full/NAME-raw.csv > NAME.csv
#
# Input: the header names the columns; those between "experiment" and "seed"
# are the swept parameters, those after "exit" the metrics; one row per run.
# Output: one row per (point, metric), points in order of first appearance:
#   <params...>,metric,mean,sd,runs,ci_low,ci_high
# runs counts the runs with a numeric value for that metric (empty cells are
# "not measured", e.g. a latency percentile of a run without a grant).
# The interval is mean +- t(0.975, runs-1) * sd / sqrt(runs) (Student t);
# sd, ci_low and ci_high are empty when runs < 2.

# Two-sided 95% quantile of Student's t with df degrees of freedom: exact
# table to 30, then linear in 1/df between 30, 40, 60, 120 and infinity
# (error below 0.001).
function t975(df,   lo, hi, tlo, thi) {
    if (df < 1) return ""
    if (df <= 30) return T[df]
    if (df <= 40) { lo = 30; hi = 40 } else if (df <= 60) { lo = 40; hi = 60 }
    else if (df <= 120) { lo = 60; hi = 120 } else { return T[120] + (1.959964 - T[120]) * (1 - 120 / df) }
    tlo = T[lo]; thi = T[hi]
    return tlo + (thi - tlo) * (1 / lo - 1 / df) / (1 / lo - 1 / hi)
}

function isnum(s) { return s ~ /^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$/ }

BEGIN {
    FS = ","
    split("12.706205 4.302653 3.182446 2.776445 2.570582 2.446912 2.364624 2.306004 " \
          "2.262157 2.228139 2.200985 2.178813 2.160369 2.144787 2.131450 2.119905 " \
          "2.109816 2.100922 2.093024 2.085963 2.079614 2.073873 2.068658 2.063899 " \
          "2.059539 2.055529 2.051831 2.048407 2.045230 2.042272", T, " ")
    T[40] = 2.021075; T[60] = 2.000298; T[120] = 1.979930
}

NR == 1 {
    seedcol = exitcol = 0
    for (i = 1; i <= NF; i++) {
        if ($i == "seed") seedcol = i
        if ($i == "exit") exitcol = i
    }
    if ($1 != "experiment" || seedcol < 2 || exitcol != seedcol + 1) {
        print "aggregate.awk: " FILENAME ": not a raw experiment CSV (header: " $0 ")" > "/dev/stderr"
        bad = 1; exit 2
    }
    hdr = ""
    for (i = 2; i < seedcol; i++) hdr = hdr $i ","
    print hdr "metric,mean,sd,runs,ci_low,ci_high"
    nmet = 0
    for (i = exitcol + 1; i <= NF; i++) metric[++nmet] = $i
    firstmet = exitcol + 1
    next
}

/^#/ || NF == 0 { next }

{
    key = ""
    for (i = 2; i < seedcol; i++) key = key $i ","
    if (!(key in seen)) { seen[key] = 1; order[++npts] = key }
    for (j = 1; j <= nmet; j++) {
        v = $(firstmet + j - 1)
        if (!isnum(v)) continue
        k = key SUBSEP j
        # Welford's running mean and sum of squared deviations.
        c = ++cnt[k]
        d = v - mu[k]
        mu[k] += d / c
        m2[k] += d * (v - mu[k])
    }
}

END {
    if (bad) exit 2
    for (p = 1; p <= npts; p++) {
        for (j = 1; j <= nmet; j++) {
            k = order[p] SUBSEP j
            c = cnt[k] + 0
            if (c == 0) {
                printf "%s%s,,,0,,\n", order[p], metric[j]
                continue
            }
            if (c < 2) {
                printf "%s%s,%.8g,,1,,\n", order[p], metric[j], mu[k]
                continue
            }
            sd = sqrt(m2[k] / (c - 1))
            h = t975(c - 1) * sd / sqrt(c)
            printf "%s%s,%.8g,%.8g,%d,%.8g,%.8g\n", order[p], metric[j], mu[k], sd, c, mu[k] - h, mu[k] + h
        }
    }
}
