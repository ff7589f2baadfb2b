# analysis/qsys-latency.gp -- latency (p50, p99) and throughput vs N per
# quorum system, one column of panels per offered load (run by figures.sh).
load here . '/qsys-style.gp'
set output out('qsys-latency')
set multiplot layout 2, words(vals_load) title "Latency and throughput vs cluster size, per quorum system (policy ae, every node a client, 50 ms holds, no faults)\n" . subtitle(cilabel . ', ' . nlabel . '; solid: p50, dotted: p99') . "\n" . subtitle(unsafenote)
set xlabel 'cluster size N (nodes, log scale)'
set logscale x
set xrange [7:330]
set xtics (9, 16, 25, 36, 49, 100, 256)
stats sel('metric=lat_p50_ms') using 'ci_low' nooutput
ylo = STATS_min
stats sel('metric=lat_p99_ms') using 'ci_high' nooutput
yhi = STATS_max
do for [load in vals_load] {
    set title sprintf('offered load %s', load)
    set ylabel 'latency, requested → granted (ms, log scale)'
    set logscale y
    set ytics (5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)
    set yrange [(ylo > 0 ? ylo / 2 : 0.5):yhi * 2]
    set key center right font ',9' samplen 2
    plot \
        for [q in vals_quorum] sel(sprintf('load=%s,quorum=%s,metric=lat_p50_ms', load, q)) \
            using (column('n') * qmul(q)):'mean':'ci_low':'ci_high' with yerrorlines dt 1 pt qshape(q) lc rgb qcolour(q) title sprintf('%s p50', q), \
        for [q in vals_quorum] sel(sprintf('load=%s,quorum=%s,metric=lat_p99_ms', load, q)) \
            using (column('n') * qmul(q)):'mean':'ci_low':'ci_high' with yerrorlines dt 3 pt qshape(q) - 1 lc rgb qcolour(q) title sprintf('%s p99', q), \
        for [q in vals_quorum] for [m in 'lat_p50_ms lat_p99_ms'] sel(sprintf('load=%s,quorum=%s,metric=%s', load, q, m)) \
            using (column('n') * qmul(q)):(unsafe(column('mean'))) @UNSAFE notitle
}
do for [load in vals_load] {
    set title sprintf('offered load %s', load)
    unset logscale y
    set ytics autofreq
    set ylabel 'throughput (grants per second)'
    set yrange [0:21]
    set key bottom left
    plot \
        for [q in vals_quorum] sel(sprintf('load=%s,quorum=%s,metric=throughput', load, q)) \
            using (column('n') * qmul(q)):'mean':'ci_low':'ci_high' with yerrorlines dt 1 pt qshape(q) lc rgb qcolour(q) title q, \
        for [q in vals_quorum] sel(sprintf('load=%s,quorum=%s,metric=throughput', load, q)) \
            using (column('n') * qmul(q)):(unsafe(column('mean'))) @UNSAFE notitle, \
        1000 / 50 with lines dt 3 lc rgb '#555555' title 'ceiling 1 / hold = 20 /s'
}
unset multiplot
