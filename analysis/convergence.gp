# analysis/convergence.gp -- experiment 4a: convergence after a crash.
# Three different times: the first suspicion, the crashed node dead at every
# live member (which is also when the views agree again: converge_s_p50 equals
# dead_s_p50 whenever the crash is the only change, so it gets no panel of its
# own), and how long the death takes to spread once a first member declared it.
pi(p) = p eq '0.5' ? 1 : p eq '1' ? 2 : p eq '2' ? 3 : 4
set output out('convergence')
set multiplot layout 1,3 title "Membership convergence after a crash vs cluster size and SWIM probe interval\n" . subtitle(cilabel . ', ' . nlabel . '; probe timeout = interval / 2')
set xlabel 'cluster size N (nodes, log scale)'
set logscale x 2
set xrange [3.5:180]
set xtics (5, 15, 31, 63, 127)
set yrange [0:*]
set key top left
set offsets 0, 0, graph 0.45, 0
first = 1
do for [m in 'suspect_s_mean dead_s_p50 dead_spread_s_p50'] {
    set title (m eq 'suspect_s_mean' ? 'first suspicion' : m eq 'dead_s_p50' ? "dead everywhere = views agree\n(median)" : "spread of the death, first to last\n(median)")
    set ylabel (m eq 'dead_spread_s_p50' ? 'time after the first "dead" (s)' : 'time after the crash (s)')
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
