# analysis/safety.gp -- experiment 5: how often each policy is unsafe, and how
# badly. Left: the fraction of runs with a safety violation (Wilson interval,
# inside [0, 1]). Right: violations per simulated hour on a log axis whose
# bottom tick is 0, so that a policy without violations (ae) shows as a line
# along the bottom rather than hiding on the axis. (A count per fault event
# misled: one long partition causes many violations, and frequent partitions
# overlap, so it exceeded 1,000 and fell as partitions came more often.)
si(s) = s eq '1' ? 1 : s eq '2' ? 2 : s eq '4' ? 3 : s eq '8' ? 4 : 5
xpos(pol, s) = column('rate') * xoff(pol) * (1 + 0.01 * (si(s) - 2))
set output out('safety')
# The key sits in the left panel's empty middle band (between the unsafe
# policy near 1 and the safe ones at 0), and the subtitle stays short
# enough for the canvas.
set multiplot layout 1,2 title "Safety violations vs partition frequency and suspicion timeout (N = 7, random partitions, mean 10 s)\n" . subtitle('left: 95% Wilson interval; right: mean, 95% bootstrap interval; ' . nlabel)
set xlabel 'partition rate (partitions per second, log scale)'
set logscale x
set xrange [0.008:0.13]
set xtics (0.01, 0.02, 0.05, 0.1)
set ylabel 'runs with a safety violation (fraction)'
set yrange [-0.02:1.02]
set key at graph 0.98, graph 0.42 right center font ',9' spacing 0.85 samplen 2 opaque
plot for [pol in vals_policy] for [s in vals_suspicion] sel(sprintf('policy=%s,suspicion=%s,metric=violated', pol, s)) \
    using (xpos(pol, s)):'mean':'ci_low':'ci_high' with yerrorlines dt pdash(pol) pt ptype(pol, si(s)) lc rgb shade(pol, si(s)) \
    title sprintf('%s, suspicion\_mult %s', plabel(pol), s)
floor = 0.1
fl(v) = v > floor ? v : floor
set ylabel 'safety violations per simulated hour (log scale; 0 drawn at the bottom)'
set logscale y
set yrange [floor / 1.5:*]
set format y '10^{%T}'
set ytics add ('0' floor)
unset key   # the same lines as the left panel
plot for [pol in vals_policy] for [s in vals_suspicion] sel(sprintf('policy=%s,suspicion=%s,metric=viol_per_hour', pol, s)) \
    using (xpos(pol, s)):(fl(column('mean'))):(fl(column('ci_low'))):(fl(column('ci_high'))) with yerrorlines dt pdash(pol) pt ptype(pol, si(s)) lc rgb shade(pol, si(s)) \
    title sprintf('%s, suspicion\_mult %s', plabel(pol), s)
unset multiplot
