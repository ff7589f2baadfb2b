#!/bin/sh
# analysis/availability-post.sh DIR -- experiment 1's analytic side:
#  - DIR/availability.csv gains the columns analytic (the exact A(T) of the
#    tree over n members at p, analysis/ae.awk), z ((mean - analytic) /
#    standard error) and in_ci (1 when analytic lies within [ci_low, ci_high],
#    0 when not, empty when the interval is degenerate: every run measured the
#    same value, typically 1 when unavailability is too rare to be seen);
#  - DIR/availability-analytic.csv: n,p,analytic for every n in the data,
#    p = 0.5 .. 1 in steps of 0.0025 (the curves of the figure).
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:?usage: availability-post.sh DIR}
csv=$dir/availability.csv
awk -F, -f "$here/ae.awk" -f - "$csv" >"$csv.tmp" <<'AWK' || exit 2
NR == 1 {
    for (i = 1; i <= NF; i++) c[$i] = i
    if (!("n" in c) || !("p" in c) || !("ci_low" in c)) { print "availability-post.sh: unexpected header " $0 > "/dev/stderr"; exit 2 }
    print $0 ",analytic,z,in_ci"
    next
}
{
    a = ae_avail($(c["n"]) + 0, $(c["p"]) + 0)
    lo = $(c["ci_low"]); hi = $(c["ci_high"]); sd = $(c["sd"]); n = $(c["runs"])
    if (lo == "" || hi == "" || sd + 0 == 0) { inci = ""; z = "" }
    else { inci = a >= lo && a <= hi ? 1 : 0; z = sprintf("%.3f", ($(c["mean"]) - a) / (sd / sqrt(n))) }
    printf "%s,%.10f,%s,%s\n", $0, a, z, inci
}
AWK
mv -f "$csv.tmp" "$csv"
awk -F, -f "$here/ae.awk" -f - "$csv" >"$dir/availability-analytic.csv" <<'AWK'
NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
!($(c["n"]) in seen) { seen[$(c["n"])] = 1; ns[++k] = $(c["n"]) }
END {
    print "n,p,analytic"
    for (j = 1; j <= k; j++)
        for (i = 0; i <= 200; i++) {
            p = 0.5 + i * 0.0025
            printf "%d,%.4f,%.10f\n", ns[j], p, ae_avail(ns[j] + 0, p)
        }
}
AWK
# Say how the ae points fare against the exact curve.
awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    $(c["policy"]) != "ae" || $(c["metric"]) != "quorum_available_views" { next }
    $(c["in_ci"]) == "" { deg++; next }
    { n++; z2 += $(c["z"]) * $(c["z"])
      if ($(c["in_ci"]) == 1) ok++; else miss = miss sprintf(" N=%s,p=%s(z=%s)", $(c["n"]), $(c["p"]), $(c["z"])) }
    END { if (n + deg) printf "availability-post.sh: ae: exact A(T) inside the 95%% CI at %d of %d points%s%s;" \
              " sum of z^2 = %.1f over %d points (about %d expected if the points scatter as their CIs say)\n",
              ok, n, miss == "" ? "" : "; outside:" miss, deg ? sprintf("; %d points with every run alike (no CI)", deg) : "",
              z2, n, n > "/dev/stderr" }' "$csv"
