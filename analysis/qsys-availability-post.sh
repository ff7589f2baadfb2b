#!/bin/sh
# analysis/qsys-availability-post.sh DIR -- the analytic side of
# qsys-availability, as availability-post.sh does it for the tree alone:
#  - DIR/qsys-availability.csv gains analytic (the quorum system's exact
#    availability over n members at p, analysis/qsys.awk), z ((mean -
#    analytic) / standard error) and in_ci (1 inside [ci_low, ci_high], 0
#    outside, empty when every run measured the same value);
#  - DIR/qsys-availability-analytic.csv: quorum,n,p,analytic for every
#    (quorum, n) in the data, p = 0.5 .. 1 in steps of 0.005.
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:?usage: qsys-availability-post.sh DIR}
csv=$dir/qsys-availability.csv
awk -F, -f "$here/ae.awk" -f "$here/qsys.awk" -f - "$csv" >"$csv.tmp" <<'AWK' || exit 2
NR == 1 {
    for (i = 1; i <= NF; i++) c[$i] = i
    if (!("quorum" in c) || !("n" in c) || !("p" in c)) { print "qsys-availability-post.sh: unexpected header " $0 > "/dev/stderr"; exit 2 }
    print $0 ",analytic,z,in_ci"
    next
}
{
    a = qs_avail($(c["quorum"]), $(c["n"]) + 0, $(c["p"]) + 0)
    lo = $(c["ci_low"]); hi = $(c["ci_high"]); sd = $(c["sd"]); n = $(c["runs"])
    if ($(c["metric"]) != "quorum_available_views") { printf "%s,,,\n", $0; next }
    if (lo == "" || hi == "" || sd + 0 == 0) { inci = ""; z = "" }
    else { inci = a >= lo && a <= hi ? 1 : 0; z = sprintf("%.3f", ($(c["mean"]) - a) / (sd / sqrt(n))) }
    printf "%s,%.10f,%s,%s\n", $0, a, z, inci
}
AWK
mv -f "$csv.tmp" "$csv"
awk -F, -f "$here/ae.awk" -f "$here/qsys.awk" -f - "$csv" >"$dir/qsys-availability-analytic.csv" <<'AWK'
NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
!(($(c["quorum"]), $(c["n"])) in seen) { seen[$(c["quorum"]), $(c["n"])] = 1; qs[++k] = $(c["quorum"]); ns[k] = $(c["n"]) }
END {
    print "quorum,n,p,analytic"
    for (j = 1; j <= k; j++)
        for (i = 0; i <= 100; i++) {
            p = 0.5 + i * 0.005
            printf "%s,%d,%.4f,%.10f\n", qs[j], ns[j], p, qs_avail(qs[j], ns[j] + 0, p)
        }
}
AWK
# How the points fare against the exact curves.
awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    $(c["metric"]) != "quorum_available_views" { next }
    $(c["in_ci"]) == "" { deg++; next }
    { n++; if ($(c["in_ci"]) == 1) ok++; else miss = miss sprintf(" %s N=%s p=%s (z=%s)", $(c["quorum"]), $(c["n"]), $(c["p"]), $(c["z"])) }
    END { if (n + deg) printf "qsys-availability-post.sh: exact availability inside the 95%% CI at %d of %d points%s%s\n",
              ok, n, miss == "" ? "" : "; outside:" miss, deg ? sprintf("; %d points with every run alike (no CI)", deg) : "" > "/dev/stderr" }' "$csv"
