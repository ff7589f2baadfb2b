# analysis/frontier.awk -- experiment 11's CSV (one row per point and metric)
# turned into one row per point with the three metrics the frontier figure
# sets against each other side by side, since a gnuplot marker needs its x
# (runs with a violation), its y (requests served) and the quorum size from
# one row:
#   mix,policy,quorum,n,runs,unsafe_runs,served,served_lo,served_hi,
#   violated,violated_lo,violated_hi,qsize,qsize_lo,qsize_hi
#   awk -f frontier.awk results/full/frontier.csv
BEGIN { FS = ","; OFS = "," }
NR == 1 {
    for (i = 1; i <= NF; i++) c[$i] = i
    if (!("metric" in c) || !("mix" in c)) { print "frontier.awk: " FILENAME ": not a frontier CSV" > "/dev/stderr"; exit 2 }
    print "mix,policy,quorum,n,runs,unsafe_runs,served,served_lo,served_hi,violated,violated_lo,violated_hi,qsize,qsize_lo,qsize_hi"
    next
}
{
    k = $(c["mix"]) OFS $(c["policy"]) OFS $(c["quorum"]) OFS $(c["n"])
    if (!(k in seen)) { seen[k] = 1; order[++np] = k }
    m = $(c["metric"])
    v[k, m] = $(c["mean"]) OFS $(c["ci_low"]) OFS $(c["ci_high"])
    runs[k] = $(c["runs"]); unsafe[k] = $(c["unsafe_runs"])
}
END {
    for (i = 1; i <= np; i++) {
        k = order[i]
        print k, runs[k], unsafe[k], get(k, "served"), get(k, "violated"), get(k, "quorum_size_end")
    }
}
# A metric a point lacks (a run that made no request has no served) is left
# empty, which gnuplot skips.
function get(k, m) { return (k, m) in v ? v[k, m] : OFS OFS }
