# analysis/qsys-availability.gp -- availability vs p per quorum system, one
# panel per N (run by figures.sh); dashed: the exact availability
# (qsys-availability-post.sh).
load here . '/qsys-style.gp'
analytic = dir . '/qsys-availability-analytic.csv'
set output out('qsys-availability')
set multiplot layout 1, words(vals_n) title "Availability vs node up-probability p, per quorum system (policy ae, churn)\n" . subtitle(cilabel . ', ' . nlabel . '; dashed: exact availability') . "\n" . subtitle(unsafenote)
set xlabel 'p (fraction of time a node is up)'
set ylabel 'availability (fraction of time a quorum exists)'
set xrange [0.48:1.01]
set yrange [0:1.02]
set key bottom right
do for [n in vals_n] {
    set title sprintf('N = %s', n)
    plot \
        for [q in vals_quorum] selfile(analytic, sprintf('quorum=%s,n=%s', q, n)) using 'p':'analytic' with lines dt 2 lc rgb qcolour(q) notitle, \
        for [q in vals_quorum] sel(sprintf('quorum=%s,n=%s,metric=quorum_available_views', q, n)) \
            using (column('p') + qoff(q) * 0.006):'mean':'ci_low':'ci_high' with yerrorbars pt qshape(q) lc rgb qcolour(q) title q, \
        for [q in vals_quorum] sel(sprintf('quorum=%s,n=%s,metric=quorum_available_views', q, n)) \
            using (column('p') + qoff(q) * 0.006):(unsafe(column('mean'))) @UNSAFE notitle
}
unset multiplot
