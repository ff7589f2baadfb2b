# analysis/sustained.gp -- experiment 7: requests served vs crashed nodes.
analytic = dir . '/sustained-analytic.csv'
ni(n) = n == 7 ? 1 : n == 15 ? 2 : 3
set output out('sustained')
set title "Lock requests served vs nodes crashed for good\n" . subtitle(cilabel . ', ' . nlabel) . "\n" . subtitle('lines: fraction of crash sets leaving an AE quorum (exact)') . "\n" . subtitle('k = 0: ' . anynote . '; ' . unsafenote)
set xlabel 'crashed nodes k (never restarted)'
set ylabel 'requests granted (fraction of the survivors'' requests)'
# Room on the right for the key, clear of the points (k ends at 14).
set xrange [-0.5:21]
set xtics 0, 2, 14
set yrange [-0.05:1.08]
set key right center font ',9'
plot \
    for [n in vals_n] selfile(analytic, 'n=' . n) using 'crashed':'quorum_fraction' with lines dt 3 lw 1.2 lc rgb shade(word(policies, 1), ni(n+0)) \
        title sprintf('AE quorum exists, N = %s', n), \
    for [pol in vals_policy] for [n in vals_n] sel(sprintf('policy=%s,n=%s,metric=served', pol, n)) \
        using (column('crashed') + xshift(pol, 1)):'mean':'ci_low':'ci_high' with yerrorlines dt pdash(pol) pt ptype(pol, ni(n+0)) lc rgb shade(pol, ni(n+0)) \
        title sprintf('%s, N = %s', plabel(pol), n), \
    for [pol in vals_policy] for [n in vals_n] sel(sprintf('policy=%s,n=%s,metric=served', pol, n)) \
        using (column('crashed') + xshift(pol, 1)):(unsafe(column('mean'))) @UNSAFE notitle, \
    keyentry @UNSAFE title unsafe_title
