# analysis/timeline.gp -- the quorum-convergence timeline (experiment 6), run
# by experiments/timeline.sh with csv, nodes ("0 1 2 ..."), maxsize, tend,
# maxepoch (0: a policy without configuration epochs), figtitle and selfile()
# defined. Input: dmutex-sim --timeline rows
#   seed,kind,t_start,t_end,node,state,view_size,view_hash,tree_size,quorum_size,detail,holds,epoch
# With epochs, a third panel steps each node's configuration epoch: every
# step is an agreed change of the quorum system, and a node behind the others
# is one that has not installed it yet.
# kind = sample (per node, every interval), fault (an interval, shaded) or
# phase (the liveness phase, shaded green).
faults = selfile(csv, 'kind=fault')
phases = selfile(csv, 'kind=phase')
nn = words(nodes)
# Equal values of different nodes stay visible without moving any line off
# its value (offsets made a quorum of 2 read as 1.8): node i's line is drawn
# wider the earlier it comes, so lines that coincide show as nested bands.
lwid(i) = 1 + 3.0 * (nn - i) / nn
ncolour(i) = word('#1f77b4 #ff7f0e #2ca02c #d62728 #9467bd #8c564b #e377c2 #7f7f7f #bcbd22 #17becf', (i - 1) % 10 + 1)
# Fault boxes span the plot: centre and half-widths for boxxyerror. The
# liveness phase is often a fraction of a second: its box is at least 1/150
# of the time axis wide, and labelled, so that it shows.
top = maxsize + 1.5
minhalf = tend / 300.0
phw(a, b) = (b - a) / 2 > minhalf ? (b - a) / 2 : minhalf
set multiplot layout (maxepoch > 0 ? 3 : 2),1 title figtitle . "\n{/*0.8 one seeded run; faults shaded (label: kind, node); green: liveness phase (faults stopped, network healed); coinciding node lines show as nested bands (earlier nodes drawn wider)}"
set xrange [0:tend + 3 * minhalf]   # room for a liveness phase at the very end
set lmargin 10   # the panels' time axes line up whatever their labels' widths
set yrange [-0.5:top]
ystep = maxsize > 20 ? 5 : 1
set ytics ystep   # whole members
set style fill transparent solid 0.18 noborder
set key outside right top vertical
set ylabel 'quorum size (members)'
unset xlabel
plot \
    faults using ((column('t_start') + column('t_end')) / 2):(top / 2 - 0.25):((column('t_end') - column('t_start')) / 2):(top / 2 + 0.25) \
        with boxxyerror lc rgb '#d62728' notitle, \
    phases using ((column('t_start') + column('t_end')) / 2):(top / 2 - 0.25):(phw(column('t_start'), column('t_end'))):(top / 2 + 0.25) \
        with boxxyerror fs transparent solid 0.35 lc rgb '#2ca02c' notitle, \
    faults using 't_start':(top - 0.5):(sprintf('%s %s', strcol('detail'), strcol('node'))) with labels left offset 0.3,0 font ',9' notitle, \
    phases using 't_start':(top - 1.2):('liveness') with labels right offset -0.3,0 font ',9' tc rgb '#2ca02c' notitle, \
    for [i = 1:nn] selfile(csv, 'kind=sample,node=' . word(nodes, i)) \
        using 't_start':(strcol('state') ne 'crashed' ? column('quorum_size') : NaN) with steps lw lwid(i) lc rgb ncolour(i) \
        title 'node ' . word(nodes, i)
set ylabel 'view size (members believed alive)'
if (maxepoch == 0) set xlabel 'simulated time (s)'
plot \
    faults using ((column('t_start') + column('t_end')) / 2):(top / 2 - 0.25):((column('t_end') - column('t_start')) / 2):(top / 2 + 0.25) \
        with boxxyerror lc rgb '#d62728' notitle, \
    phases using ((column('t_start') + column('t_end')) / 2):(top / 2 - 0.25):(phw(column('t_start'), column('t_end'))):(top / 2 + 0.25) \
        with boxxyerror fs transparent solid 0.35 lc rgb '#2ca02c' notitle, \
    for [i = 1:nn] selfile(csv, 'kind=sample,node=' . word(nodes, i)) \
        using 't_start':(strcol('state') ne 'crashed' ? column('view_size') : NaN) with steps lw lwid(i) lc rgb ncolour(i) \
        title 'node ' . word(nodes, i)
if (maxepoch > 0) {
    set ylabel 'configuration epoch'
    set xlabel 'simulated time (s)'
    set yrange [0.5:maxepoch + 0.5]
    set ytics 1
    set format y '%.0f'
    plot \
        faults using ((column('t_start') + column('t_end')) / 2):((maxepoch + 1) / 2.0):((column('t_end') - column('t_start')) / 2):((maxepoch + 1) / 2.0) \
            with boxxyerror lc rgb '#d62728' notitle, \
        phases using ((column('t_start') + column('t_end')) / 2):((maxepoch + 1) / 2.0):(phw(column('t_start'), column('t_end'))):((maxepoch + 1) / 2.0) \
            with boxxyerror fs transparent solid 0.35 lc rgb '#2ca02c' notitle, \
        for [i = 1:nn] selfile(csv, 'kind=sample,node=' . word(nodes, i)) \
            using 't_start':(strcol('state') ne 'crashed' ? column('epoch') : NaN) with steps lw lwid(i) lc rgb ncolour(i) \
            title 'node ' . word(nodes, i)
}
unset multiplot
