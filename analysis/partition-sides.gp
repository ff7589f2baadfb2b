# analysis/partition-sides.gp -- availability on each side of a partition:
# the fraction of the requests made during the cut that each side was
# granted before the heal (top: side a, the smaller half or the isolated
# node; bottom: side b, the rest), per quorum system (x) and policy (colour,
# spread sideways), one column per shape. Ringed red: some run of the point
# was unsafe (with a cut, most often both sides served at once).
if (ext eq 'png') { set terminal pngcairo size 1400,800 enhanced font 'sans,11' linewidth 1.5 } \
else { set terminal svg size 1400,800 dynamic enhanced font 'sans,11' linewidth 1.5 background rgb 'white' }
set output out('partition-sides')
qi(q) = q eq 'tree' ? 1 : q eq 'majority' ? 2 : 3
stitle(s) = s eq 'halves' ? 'halves: a = {0..6}, b = {7..14} (root 7 in b)' : \
            s eq 'isolate-leaf' ? 'a leaf cut off: a = {0}' : 'the root cut off: a = {7}'
set multiplot layout 2, words(vals_shape) \
    title "Requests granted on each side of a partition (N = 15, cut from 20 s for 60 s, one tree for every lock name)\n" . \
    subtitle(cilabel . ', ' . nlabel)
set xrange [0.5:3.5]
set xtics ('tree' 1, 'majority' 2, 'grid' 3)
set yrange [-0.03:1.05]
do for [row = 1:2] {
    side = row == 1 ? 'a' : 'b'
    set ylabel sprintf('side %s: requests granted', side)
    do for [s in vals_shape] {
        set title stitle(s) font ',10'
        if (row == 2 && s eq word(vals_shape, 1)) { set key bottom left font ',9' } else { set key off }
        plot for [pol in vals_policy] sel(sprintf('shape=%s,policy=%s,metric=served_%s', s, pol, side)) \
                using (qi(strcol('quorum')) + xshift(pol, 1.2)):'mean':'ci_low':'ci_high' with yerrorbars \
                pt ptype(pol, 1) ps 1.3 lc rgb pcolour(pol) title plabel(pol), \
             for [pol in vals_policy] sel(sprintf('shape=%s,policy=%s,metric=served_%s', s, pol, side)) \
                using (qi(strcol('quorum')) + xshift(pol, 1.2)):(unsafe(column('mean'))) @UNSAFE notitle, \
             keyentry @UNSAFE title unsafe_title
    }
}
unset multiplot
