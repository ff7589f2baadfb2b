# analysis/correlated.gp -- experiment 12: requests granted while k nodes are
# down at once, one panel per way of choosing them (random, a rack of
# consecutive ids, the tree's root path). Colour: policy (registry order,
# style.gp); point shape and dash: quorum system (tree and majority at N = 15,
# grid at N = 16); points spread a little sideways so that their
# intervals show; ringed red: some run of the point was unsafe.
# Three panels and a key to the right need a wider canvas than figures.sh's.
if (ext eq 'png') { set terminal pngcairo size 1500,560 enhanced font 'sans,11' linewidth 1.5 } \
else { set terminal svg size 1500,560 dynamic enhanced font 'sans,11' linewidth 1.5 background rgb 'white' }
# Wilson intervals over 20 runs reach down to 0.84 even where every run
# served everything: the interval is over runs, not requests.
set output out('correlated')
qi(q) = q eq 'tree' ? 1 : q eq 'majority' ? 2 : 3
qshape(q) = word('7 5 9', qi(q)) + 0
qn(q) = q eq 'grid' ? 16 : 15
nq = words(vals_quorum)
xj(pol, q) = 0.035 * (nq * pcentre(pol) + qi(q) - (nq + 1) / 2.0)
seltitle(s) = s eq 'random' ? 'k random ids' : \
              s eq 'rack' ? 'a rack: k consecutive ids (wrapping)' : \
              'the root path: root, its left child, ...'
src(s, pol, q) = sel(sprintf('selection=%s,policy=%s,quorum=%s,metric=served', s, pol, q))
set multiplot layout 1, words(vals_selection) margins 0.05, 0.79, 0.12, 0.80 spacing 0.065 \
    title "Correlated crashes: k nodes down together from 20 s for 60 s, one tree for every lock name (core.spread = false)\n" . \
    subtitle('the fraction of the requests made while they are down that were granted, 95% Wilson intervals, ' . nlabel)
set xlabel 'nodes crashed together, k'
set xrange [0.6:4.4]
set xtics 1
set ylabel 'requests granted (fraction)'
set yrange [0:1.02]   # one scale: the panels compare
set key off
do for [s in vals_selection] {
    set title seltitle(s) font ',10'
    if (s eq word(vals_selection, words(vals_selection))) {
        set key at screen 0.995, screen 0.46 right center box opaque font ',10' samplen 2.5 spacing 1.1
    }
    plot for [pol in vals_policy] for [q in vals_quorum] src(s, pol, q) \
            using (column('k') + xj(pol, q)):'mean':'ci_low':'ci_high' with yerrorlines \
            dt qi(q) pt qshape(q) ps 1.2 lc rgb pcolour(pol) \
            title sprintf('%s, %s (N = %d)', plabel(pol), q, qn(q)), \
        for [pol in vals_policy] for [q in vals_quorum] src(s, pol, q) \
            using (column('k') + xj(pol, q)):(unsafe(column('mean'))) @UNSAFE notitle, \
        keyentry @UNSAFE title unsafe_title
}
unset multiplot
