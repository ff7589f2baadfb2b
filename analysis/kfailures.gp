# analysis/kfailures.gp -- experiment 9: quorum size and lock messages per
# grant after k sequential failures, per policy and N.
ni(n) = n == 7 ? 1 : 2
set output out('kfailures')
set multiplot layout 1,3 title "After k sequential crashes (15 s apart, never restarted)\n" . subtitle(cilabel . ', ' . nlabel) . "\n" . subtitle('left, middle: the 40 s after the cluster reacted; right: from the first crash to then') . "\n" . subtitle('k = 0: ' . anynote . '; ' . unsafenote)
set xlabel 'crashed nodes k'
set xrange [-0.5:7.5]
set ylabel 'quorum a node forms (members, mean over running nodes)'
# Headroom above the data for the key (quorums reach about 6 members, grants about 20 messages).
set yrange [0:10]
set key top left font ',9'
plot \
    for [pol in vals_policy] for [n in vals_n] sel(sprintf('policy=%s,n=%s,metric=quorum_size_end', pol, n)) \
        using (column('k') + xshift(pol, 1)):'mean':'ci_low':'ci_high' with yerrorlines dt pdash(pol) pt ptype(pol, ni(n+0)) lc rgb shade(pol, ni(n+0)) \
        title sprintf('%s, N = %s', plabel(pol), n), \
    for [pol in vals_policy] for [n in vals_n] sel(sprintf('policy=%s,n=%s,metric=quorum_size_end', pol, n)) \
        using (column('k') + xshift(pol, 1)):(unsafe(column('mean'))) @UNSAFE notitle, \
    keyentry @UNSAFE title unsafe_title
set ylabel 'lock messages per grant'
set key top left font ',9'
set yrange [0:40]
plot \
    for [pol in vals_policy] for [n in vals_n] sel(sprintf('policy=%s,n=%s,metric=window_msgs_per_grant', pol, n)) \
        using (column('k') + xshift(pol, 1)):'mean':'ci_low':'ci_high' with yerrorlines dt pdash(pol) pt ptype(pol, ni(n+0)) lc rgb shade(pol, ni(n+0)) \
        title sprintf('%s, N = %s', plabel(pol), n), \
    for [pol in vals_policy] for [n in vals_n] sel(sprintf('policy=%s,n=%s,metric=window_msgs_per_grant', pol, n)) \
        using (column('k') + xshift(pol, 1)):(unsafe(column('mean'))) @UNSAFE notitle, \
    keyentry @UNSAFE title unsafe_title
set ylabel 'requests granted (fraction), failures and reactions'
set yrange [0.85:1.005]
unset key   # the same lines as the other panels
plot \
    for [pol in vals_policy] for [n in vals_n] sel(sprintf('policy=%s,n=%s,metric=served', pol, n)) \
        using (column('k') + xshift(pol, 1)):'mean':'ci_low':'ci_high' with yerrorlines dt pdash(pol) pt ptype(pol, ni(n+0)) lc rgb shade(pol, ni(n+0)) \
        title sprintf('%s, N = %s', plabel(pol), n), \
    for [pol in vals_policy] for [n in vals_n] sel(sprintf('policy=%s,n=%s,metric=served', pol, n)) \
        using (column('k') + xshift(pol, 1)):(unsafe(column('mean'))) @UNSAFE notitle, \
    keyentry @UNSAFE title unsafe_title
unset multiplot
