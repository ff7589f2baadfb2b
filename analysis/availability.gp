# analysis/availability.gp -- experiment 1: availability vs p against A(T).
analytic = dir . '/availability-analytic.csv'
set output out('availability')
set multiplot layout 1,2 title "Availability vs node up-probability p (each node up independently, exponential up/down periods)\n" . subtitle(cilabel . ', ' . nlabel . '; lines: exact A(T) of the AE tree')
ni(n) = n == 7 ? 1 : n == 15 ? 2 : n == 31 ? 3 : 4
ncol(n) = word('#1f77b4 #ff7f0e #2ca02c #9467bd', ni(n))
set xlabel 'node up-probability p'
set ylabel 'availability (fraction of time a quorum can be formed)'
set xrange [0.48:1.0]
set yrange [0.4:1.02]
set key bottom right
plot \
    for [n in vals_n] selfile(analytic, 'n=' . n) using 'p':'analytic' with lines lw 1.2 lc rgb ncol(n+0) title sprintf('A(T), N = %s', n), \
    for [pol in vals_policy] for [n in vals_n] sel(sprintf('policy=%s,n=%s,metric=quorum_available_views', pol, n)) \
        using 'p':'mean':'ci_low':'ci_high' with yerrorbars pt ptype(pol, 1) lc rgb ncol(n+0) \
        title sprintf('%s, N = %s', plabel(pol), n), \
    for [pol in vals_policy] for [n in vals_n] sel(sprintf('policy=%s,n=%s,metric=quorum_available_views', pol, n)) \
        using 'p':(unsafe(column('mean'))) @UNSAFE notitle, \
    keyentry @UNSAFE title unsafe_title
# Unavailability on a log axis: a point that measured A = 1 (no unavailable
# moment in the runs) or an interval reaching 1 is drawn at the floor,
# labelled 0, instead of vanishing from the axis.
floor = 1e-6
fl(u) = u > floor ? u : floor
set ylabel 'unavailability 1 − A (log scale; 0 drawn at the bottom)'
set logscale y
set yrange [floor / 2:1]
set format y '10^{%T}'
set ytics add ('0' floor)
set key bottom left
plot \
    for [n in vals_n] selfile(analytic, 'n=' . n) using 'p':(fl(1 - column('analytic'))) with lines lw 1.2 lc rgb ncol(n+0) title sprintf('1 − A(T), N = %s', n), \
    for [pol in vals_policy] for [n in vals_n] sel(sprintf('policy=%s,n=%s,metric=quorum_available_views', pol, n)) \
        using 'p':(fl(1 - column('mean'))):(fl(1 - column('ci_high'))):(fl(1 - column('ci_low'))) with yerrorbars pt ptype(pol, 1) lc rgb ncol(n+0) \
        title sprintf('%s, N = %s', plabel(pol), n), \
    for [pol in vals_policy] for [n in vals_n] sel(sprintf('policy=%s,n=%s,metric=quorum_available_views', pol, n)) \
        using 'p':(unsafe(fl(1 - column('mean')))) @UNSAFE notitle
unset multiplot
