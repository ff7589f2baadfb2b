# analysis/frontier.gp -- experiment 11: the availability-safety frontier.
# One panel per fault mix. Top row: runs with a safety violation (x, Wilson
# interval) against lock requests granted (y); the ideal corner (never unsafe,
# everything granted) is top left. Bottom row: the same requests granted
# against the quorum a node forms at the end of the fault phase (0: no node
# could form one), the price a policy pays or saves for its availability.
# Colour: policy (registry order, style.gp); shape: quorum system; filled
# N = 9, open N = 25 (points spread a little sideways so that they show); ringed red: some run of the point was unsafe.
# Five panels a row need a wider canvas than figures.sh's default.
if (ext eq 'png') { set terminal pngcairo size 1800,900 enhanced font 'sans,11' linewidth 1.5 } \
else { set terminal svg size 1800,900 dynamic enhanced font 'sans,11' linewidth 1.5 background rgb 'white' }
set output out('frontier')
quorums = 'tree majority grid'
qi(q) = q eq 'tree' ? 1 : q eq 'majority' ? 2 : 3
ni(n) = n eq '9' ? 1 : 2
qshape(q, n) = word(ni(n) == 1 ? '7 5 9' : '6 4 8', qi(q)) + 0
# The points pile up at x = 0 (every safe policy): spread them a little.
xj(pol, q) = 0.012 * (3 * pcentre(pol) + qi(q) - 2)
mixtitle(m) = m eq 'crashes' ? 'sequential crashes, (N-1)/2 for good' : \
              m eq 'partition' ? 'random partitions, 0.02/s, mean 10 s' : \
              sprintf('churn, p = 0.9, mean up %s s', m[6:])
piv(m, pol, q, n) = sprintf("< awk -f '%s/frontier.awk' '%s' | awk -f '%s/select.awk' -v where='mix=%s,policy=%s,quorum=%s,n=%s'", \
    here, csv, here, m, pol, q, n)
nmix = words(vals_mix)
# The panels leave the right edge to one short key: colour = policy,
# shape = quorum system, filled/open = N (18 entries would not fit).
set multiplot layout 2, nmix margins 0.04, 0.88, 0.08, 0.88 spacing 0.045, 0.1 title "Availability vs safety: every policy and quorum system under the same faults\n" . \
    subtitle('top: requests granted vs runs with a safety violation (95% Wilson intervals); bottom: vs the mean quorum size at the end of the fault phase (0: none could form one); ' . nlabel)
set key off
set offsets 0, graph 0.05, 0, 0
do for [m in vals_mix] {
    set title mixtitle(m) font ',10'
    set xlabel 'runs with a safety violation (fraction)'
    set xrange [-0.06:1.04]
    set ylabel 'requests granted (fraction)'
    set yrange [*:1.01]
    set label 1 'ideal corner: safe and available' at graph 0.3, graph 0.3 left font ',9' tc rgb '#2ca02c' front
    set arrow 1 from graph 0.3, graph 0.3 to first 0, graph 0.97 lc rgb '#2ca02c' lw 0.8 front
    set object 1 rect from first -0.05, graph 0.90 to first 0.05, graph 1 fc rgb '#2ca02c' fs transparent solid 0.12 noborder behind
    plot for [pol in vals_policy] for [q in quorums] for [n in vals_n] piv(m, pol, q, n) \
            using (column('violated') + xj(pol, q)):'served':(column('violated_lo') + xj(pol, q)):(column('violated_hi') + xj(pol, q)):'served_lo':'served_hi' \
            with xyerrorbars pt qshape(q, n) ps 1.3 lc rgb pcolour(pol), \
        for [pol in vals_policy] for [q in quorums] for [n in vals_n] piv(m, pol, q, n) \
            using (column('violated') + xj(pol, q)):(unsafe(column('served'))) @UNSAFE
    unset label 1
    unset arrow 1
    unset object 1
}
set xlabel 'mean quorum size at the end (members)'
set xrange [-0.5:*]
do for [m in vals_mix] {
    set title ''
    if (m eq word(vals_mix, nmix)) {
        set key at screen 0.995, screen 0.5 right center box opaque font ',10' samplen 1 spacing 1.1
    }
    plot for [pol in vals_policy] for [q in quorums] for [n in vals_n] piv(m, pol, q, n) \
            using (column('qsize') + 4 * xj(pol, q)):'served':'served_lo':'served_hi' with yerrorbars pt qshape(q, n) ps 1.3 lc rgb pcolour(pol) notitle, \
        for [pol in vals_policy] for [q in quorums] for [n in vals_n] piv(m, pol, q, n) \
            using (column('qsize') + 4 * xj(pol, q)):(unsafe(column('served'))) @UNSAFE notitle, \
        for [pol in vals_policy] keyentry with points pt 7 ps 1.3 lc rgb pcolour(pol) title plabel(pol), \
        for [q in quorums] keyentry with points pt qshape(q, '9') ps 1.3 lc rgb 'black' title q, \
        for [n in vals_n] keyentry with points pt qshape('tree', n) ps 1.3 lc rgb 'black' title sprintf('N = %s', n), \
        keyentry @UNSAFE title unsafe_title
}
unset multiplot
