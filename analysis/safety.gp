# analysis/safety.gp -- experiment 5: violations per 1,000 fault events.
si(s) = s eq '1' ? 1 : s eq '2' ? 2 : s eq '4' ? 3 : s eq '8' ? 4 : 5
set output out('safety')
set title "Mutual-exclusion violations vs partition frequency and suspicion timeout (N = 7, partitions of random shape, mean 10 s)\n" . subtitle(cilabel . ', ' . nlabel . '; suspicion timeout = suspicion\_mult × max(1, log_{10} N) × 1 s probe')
set xlabel 'partition rate (partitions per second, log scale)'
set ylabel 'mutual-exclusion violations per 1,000 fault events'
set logscale x
set xrange [0.008:0.13]
set xtics (0.01, 0.02, 0.05, 0.1)
set key top right
set yrange [0:*]
plot for [pol in vals_policy] for [s in vals_suspicion] sel(sprintf('policy=%s,suspicion=%s,metric=viol_per_1000', pol, s)) \
    using (column('rate') * xoff(pol) * (1 + 0.01 * (si(s) - 2))):'mean':'ci_low':'ci_high' with yerrorlines dt pdash(pol) pt ptype(pol, si(s)) lc rgb shade(pol, si(s)) \
    title sprintf('%s, suspicion\_mult %s', pol, s)
