# analysis/churn.gp -- experiment 10: requests served under churn vs the
# churn's time scale (mean up period), per policy, N and p.
ni(n) = n == 7 ? 1 : 2
set output out('churn')
set multiplot layout 1,2 title "Lock requests granted under churn (exponential up/down periods)\n" . subtitle(cilabel . ', ' . nlabel)
set xlabel 'mean up period (s, log scale)'
set logscale x
set xrange [3:200]
set ylabel 'requests granted (fraction)'
set key bottom right
do for [p in vals_p] {
    set title sprintf('p = %s', p)
    plot \
        for [pol in vals_policy] for [n in vals_n] sel(sprintf('policy=%s,n=%s,p=%s,delays=sim,metric=served', pol, n, p)) \
            using (column('up_mean') * xoff(pol)):'mean':'ci_low':'ci_high' with yerrorlines dt pdash(pol) pt ptype(pol, ni(n+0)) lc rgb shade(pol, ni(n+0)) \
            title sprintf('%s, N = %s', plabel(pol), n), \
        for [pol in vals_policy] for [n in vals_n] sel(sprintf('policy=%s,n=%s,p=%s,delays=sim,metric=served', pol, n, p)) \
            using (column('up_mean') * xoff(pol)):(unsafe(column('mean'))) @UNSAFE notitle, \
        for [n in vals_n] sel(sprintf('policy=epoch,n=%s,p=%s,delays=core,metric=served', n, p)) \
            using (column('up_mean') * 1.03):'mean':'ci_low':'ci_high' with yerrorlines dt 4 pt ptype('epoch', ni(n+0) + 2) lc rgb shade('epoch', ni(n+0) + 2) \
            title sprintf('epoch, core delays, N = %s', n), \
        for [n in vals_n] sel(sprintf('policy=epoch,n=%s,p=%s,delays=core,metric=served', n, p)) \
            using (column('up_mean') * 1.03):(unsafe(column('mean'))) @UNSAFE notitle, \
        keyentry @UNSAFE title unsafe_title
}
unset multiplot
