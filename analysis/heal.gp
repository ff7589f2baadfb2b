# analysis/heal.gp -- experiment 4b: convergence after a partition heals.
pi(p) = p eq '0.5' ? 1 : p eq '1' ? 2 : p eq '2' ? 3 : 4
set output out('heal')
set multiplot layout 1,2 title "Convergence after a halves partition heals vs cluster size and SWIM probe interval\n" . subtitle(cilabel . ', ' . nlabel . '; each side had declared the other dead')
set xlabel 'cluster size N (nodes, log scale)'
set logscale x 2
set xrange [3.5:90]
set xtics (5, 15, 31, 63)
set yrange [0:*]
set key top left
set offsets 0, 0, graph 0.45, 0
first = 1
do for [m in 'liveness_view_max_seconds liveness_max_seconds'] {
    set title (m eq 'liveness_view_max_seconds' ? 'all live members agree on one view / tree' : 'every node granted a fresh request')
    set ylabel 'time after the heal (s)'
    if (!first) { unset key; set offsets 0, 0, graph 0.05, 0 }
    first = 0
    plot for [pol in vals_policy] for [p in vals_probe] sel(sprintf('policy=%s,probe=%s,metric=%s', pol, p, m)) \
        using (column('n') * xoff(pol)):'mean':'ci_low':'ci_high' with yerrorlines dt pdash(pol) pt ptype(pol, pi(p)) lc rgb shade(pol, pi(p)) \
        title sprintf('%s, probe %s s', plabel(pol), p), \
 for [pol in vals_policy] for [p in vals_probe] sel(sprintf('policy=%s,probe=%s,metric=%s', pol, p, m)) \
        using (column('n') * xoff(pol)):(unsafe(column('mean'))) @UNSAFE notitle, \
 keyentry @UNSAFE title unsafe_title
}
unset multiplot
