# analysis/latency.gp -- experiment 3: latency and throughput vs offered load.
# Without faults every policy runs identically (latency.exp's policy_free), so
# the series are usually one policy, "any".
ni(n) = n == 5 ? 1 : 2
set output out('latency')
set multiplot layout 1,2 title "Lock acquisition latency and throughput vs offered load (every node a client, 50 ms holds, no faults)\n" . subtitle(cilabel . ', ' . nlabel) . "\n" . subtitle(anynote . '; ' . unsafenote)
set xlabel 'offered load (fraction of time the lock is wanted)'
set logscale x
set xrange [0.08:3.5]
set xtics (0.1, 0.2, 0.4, 0.6, 1, 1.5, 2, 3)
set ylabel 'latency, requested → granted (ms, log scale)'
set logscale y
# The axis fits the data (autoscaled to whole decades would waste most of it):
# from half the smallest lower bound to twice the largest upper bound.
stats sel('metric=lat_p50_ms') using 'ci_low' nooutput
ylo = STATS_min
stats sel('metric=lat_p99_ms') using 'ci_high' nooutput
yhi = STATS_max
set yrange [(ylo > 0 ? ylo / 2 : 0.5):yhi * 4]
set key top left
plot \
    for [pol in vals_policy] for [n in vals_n] sel(sprintf('policy=%s,n=%s,metric=lat_p50_ms', pol, n)) \
        using (column('load') * xoff(pol)):'mean':'ci_low':'ci_high' with yerrorlines dt pdash(pol) pt ptype(pol, 1) lc rgb shade(pol, ni(n+0)) \
        title sprintf('p50, %s, N = %s', plabel(pol), n), \
    for [pol in vals_policy] for [n in vals_n] sel(sprintf('policy=%s,n=%s,metric=lat_p99_ms', pol, n)) \
        using (column('load') * xoff(pol)):'mean':'ci_low':'ci_high' with yerrorlines dt pdash(pol) pt ptype(pol, 2) lc rgb shade(pol, ni(n+0)) \
        title sprintf('p99, %s, N = %s', plabel(pol), n), \
    for [pol in vals_policy] for [n in vals_n] for [m in 'lat_p50_ms lat_p99_ms'] sel(sprintf('policy=%s,n=%s,metric=%s', pol, n, m)) \
        using (column('load') * xoff(pol)):(unsafe(column('mean'))) @UNSAFE notitle, \
    keyentry @UNSAFE title unsafe_title
unset logscale y
set ylabel 'throughput (grants per second)'
set yrange [0:21]
set key bottom right
plot \
    for [pol in vals_policy] for [n in vals_n] sel(sprintf('policy=%s,n=%s,metric=throughput', pol, n)) \
        using (column('load') * xoff(pol)):'mean':'ci_low':'ci_high' with yerrorlines dt pdash(pol) pt ptype(pol, ni(n+0)) lc rgb shade(pol, ni(n+0)) \
        title sprintf('%s, N = %s', plabel(pol), n), \
    for [pol in vals_policy] for [n in vals_n] sel(sprintf('policy=%s,n=%s,metric=throughput', pol, n)) \
        using (column('load') * xoff(pol)):(unsafe(column('mean'))) @UNSAFE notitle, \
    1000 / 50 with lines dt 3 lc rgb '#555555' title 'ceiling 1 / hold = 20 /s'
unset multiplot
