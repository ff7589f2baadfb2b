# analysis/qsys-messages.gp -- messages per acquisition vs N per quorum system
# (run by figures.sh); dashed: 3(K-1) uncontended, qsys-messages-post.sh.
load here . '/qsys-style.gp'
theory = dir . '/qsys-messages-theory.csv'
set output out('qsys-messages')
set title "Messages per lock acquisition vs cluster size, per quorum system (policy ae, no faults)\n" . subtitle(cilabel . ', ' . nlabel . '; dashed: 3(K−1), K = failure-free quorum at position 0') . "\n" . subtitle(unsafenote)
set xlabel 'cluster size N (nodes, log scale)'
set ylabel 'messages per granted acquisition (count, log scale)'
set logscale y 2
set logscale x
set xrange [7:330]
set yrange [4:8192]
set xtics (9, 16, 25, 36, 49, 100, 256)
set key top left font ',9' samplen 2 maxrows 5
mshape(q, mode) = mode eq 'uncontended' ? qshape(q) : qshape(q) - 1
plot \
    for [q in vals_quorum] selfile(theory, sprintf('quorum=%s', q)) using 'n':'uncontended' with lines dt 2 lc rgb qcolour(q) \
        title sprintf('%s: 3(K−1)', q), \
    for [mode in vals_mode] for [q in vals_quorum] sel(sprintf('mode=%s,quorum=%s,metric=msgs_per_acq', mode, q)) \
        using (column('n') * qmul(q)):'mean':'ci_low':'ci_high' with yerrorlines dt 1 pt mshape(q, mode) lc rgb qcolour(q) \
        title sprintf('%s, %s', q, mode), \
    for [mode in vals_mode] for [q in vals_quorum] sel(sprintf('mode=%s,quorum=%s,metric=msgs_per_acq', mode, q)) \
        using (column('n') * qmul(q)):(unsafe(column('mean'))) @UNSAFE notitle, \
    keyentry @UNSAFE title unsafe_title
