# analysis/select.awk -- rows of a CSV with a header whose named columns have
# given values; the header line is kept (gnuplot then uses columns by name).
#   awk -f select.awk -v where='policy=ae,metric=mean_ms' FILE.csv
BEGIN {
    FS = ","
    n = split(where, w, ",")
    for (i = 1; i <= n; i++) {
        eq = index(w[i], "=")
        wk[i] = substr(w[i], 1, eq - 1)
        wv[i] = substr(w[i], eq + 1)
    }
}
NR == 1 {
    for (i = 1; i <= NF; i++) col[$i] = i
    for (i = 1; i <= n; i++)
        if (!(wk[i] in col)) { print "select.awk: " FILENAME ": no column " wk[i] > "/dev/stderr"; exit 2 }
    print
    next
}
{
    for (i = 1; i <= n; i++)
        if ($(col[wk[i]]) != wv[i]) next
    print
}
