# analysis/messages.gp -- experiment 2: messages per lock acquisition vs N
# (run by figures.sh, which defines dir, csv, out(), sel(), nlabel, vals_*).
theory = dir . '/messages-theory.csv'
set output out('messages')
set title "Messages per lock acquisition vs cluster size (no faults)\n" . subtitle(cilabel . ', ' . nlabel . '; lines: analytic costs') . "\n" . subtitle(anynote . '; ' . unsafenote)
set xlabel 'cluster size N (nodes, log scale)'
set ylabel 'messages per granted acquisition (count, log scale)'
set logscale xy 2
set xrange [2.5:300]
# From 2: an uncontended acquisition at N = 3 costs 3 messages (K = 2).
set yrange [2:512]
set xtics (3, 7, 15, 31, 63, 127, 255)
set ytics (2, 4, 8, 16, 32, 64, 128, 256, 512)
set key top left
mi(mode) = mode eq 'uncontended' ? 1 : 2
plot \
    theory using 'n':'majority' with lines dt 3 lw 1.2 lc rgb '#555555' title 'majority quorum 3(⌊N/2⌋+1)', \
    theory using 'n':'maekawa_high' with lines dt 2 lc rgb '#2ca02c' title 'Maekawa 5√N (heavy load)', \
    theory using 'n':'maekawa_low' with lines dt 4 lc rgb '#2ca02c' title 'Maekawa 3√N (light load)', \
    theory using 'n':'ours_uncontended' with steps lc rgb '#7f7f7f' lw 1 title 'ours uncontended 3(K−1), K = quorum of member 0', \
    for [mode in vals_mode] for [pol in vals_policy] \
        sel(sprintf('mode=%s,policy=%s,metric=msgs_per_acq', mode, pol)) \
        using (column('n') * xoff(pol)):'mean':'ci_low':'ci_high' with yerrorlines \
        dt pdash(pol) pt ptype(pol, mi(mode)) lc rgb shade(pol, mi(mode)) \
        title sprintf('%s, %s', plabel(pol), mode), \
    for [mode in vals_mode] for [pol in vals_policy] \
        sel(sprintf('mode=%s,policy=%s,metric=msgs_per_acq', mode, pol)) \
        using (column('n') * xoff(pol)):(unsafe(column('mean'))) @UNSAFE notitle, \
    keyentry @UNSAFE title unsafe_title
