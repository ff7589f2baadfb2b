# analysis/churn-scale.gp -- churn's time-scale against SWIM's detection
# time: requests granted (top) and runs with a safety violation (bottom)
# against mean up period / detection time, per policy and N, one column per
# p. The detection time of each N is the measured point up_mean=detect
# (time to DEAD at every live member after one crash, dead_s_p50); the
# dotted line at 1 marks it.
if (ext eq 'png') { set terminal pngcairo size 1400,900 enhanced font 'sans,11' linewidth 1.5 } \
else { set terminal svg size 1400,900 dynamic enhanced font 'sans,11' linewidth 1.5 background rgb 'white' }
ni(n) = n == 7 ? 1 : 2
array td[2]
do for [n in vals_n] {
    stats sel(sprintf('up_mean=detect,n=%s,metric=dead_s_p50', n)) using 'mean' nooutput
    td[ni(n + 0)] = STATS_mean
}
tdn(n) = td[ni(n + 0)]
ratio(n) = column('up_mean') / tdn(n)
set output out('churn-scale')
set multiplot layout 2, words(vals_p) title sprintf("Churn time-scale against SWIM detection time (detection: %.1f s at N = 7, %.1f s at N = 15)\n", td[1], td[2]) . subtitle(cilabel . ', ' . nlabel)
set logscale x
set xrange [0.2:80]
set arrow 1 from 1, graph 0 to 1, graph 1 nohead dt 3 lw 1.5 lc rgb '#555555'
set label 1 'detection' at 1.08, graph 0.06 left textcolor rgb '#555555'
do for [row = 1:2] {
    metric = row == 1 ? 'served' : 'violated'
    set ylabel row == 1 ? 'requests granted (fraction)' : 'runs with a violation (Wilson)'
    set xlabel row == 2 ? 'mean up period / detection time (log scale)' : ''
    if (row == 1) { set yrange [0:1.02] } else { set yrange [-0.02:1.05] }
    do for [p in vals_p] {
        if (row == 1 && p eq word(vals_p, words(vals_p))) { set key bottom right font ',9' samplen 2 } else { set key off }
        set title sprintf('p = %s (mean down = up x %.3f)', p, (1 - p) / p)
        plot \
            for [pol in vals_policy] for [n in vals_n] sel(sprintf('policy=%s,n=%s,p=%s,metric=%s', pol, n, p, metric)) \
                using (ratio(n) * xoff(pol)):'mean':'ci_low':'ci_high' with yerrorlines dt pdash(pol) pt ptype(pol, ni(n + 0)) lc rgb shade(pol, ni(n + 0)) \
                title sprintf('%s, N = %s', plabel(pol), n), \
            for [pol in vals_policy] for [n in vals_n] sel(sprintf('policy=%s,n=%s,p=%s,metric=%s', pol, n, p, metric)) \
                using (ratio(n) * xoff(pol)):(unsafe(column('mean'))) @UNSAFE notitle, \
            keyentry @UNSAFE title unsafe_title
    }
}
unset multiplot
