# analysis/explain.gp -- one failing run's first safety violation as a
# timeline in the style of Jepsen's, drawn by experiments/explain.sh with
# csv (analysis/explain.awk's rows), nn (nodes), t0, t1 (the window), tviol,
# maxepoch, figtitle and selfile() defined.
# One lane per node (node 0 on top). In each lane: the node's holds (grey;
# the two that overlap blue and red, each after a thin line for its wait),
# a dot where it was an arbiter in the first holder's quorum and a triangle
# where it was in the second's (joined to the holder's lane at the grant),
# its faults shaded red, and above the bars its view size, tree size (and
# epoch) wherever they changed. Faults without a node (partitions, message
# loss: the CSV's network rows) shade every lane orange; green is the liveness phase; the dashed
# line is the violation.
# noenhanced: the title holds the command line, whose _ and {} are not markup.
# Short lines: the title centres over the plot, left of the key, and a
# line wider than the plot is cut at the canvas edge.
set title figtitle . "\nlane labels where they change: v = view size, t = quorum-system size" . \
    (maxepoch > 0 ? ", e = epoch" : "") . ", - = crashed" noenhanced
set xrange [t0:t1]
set yrange [nn - 0.5:-0.5]
set ytics 1 scale 0
set format y 'node %.0f'
set grid noytics
set xlabel 'simulated time (s)'
set key outside right top vertical
set style fill transparent solid 0.25 noborder
set arrow 1 from tviol, graph 0 to tviol, graph 1 nohead dt 2 lw 1.5 lc rgb 'black' front
set label 1 'violation' at tviol, graph 1 offset 0, 0.6 center front font ',9'
blue = '#1f77b4'; red = '#d62728'
role_colour(r) = r eq 'first' ? blue : r eq 'second' ? red : '#999999'
# A view row's label; crashed nodes have no view.
vlabel(st, v, t, e) = st eq 'crashed' ? '-' : \
    sprintf('v%s t%s', v, t) . (maxepoch > 0 ? sprintf(' e%s', e) : '')
# Labels start inside the window, so that a lane's state at t0 shows; a
# state that lasts less than 2 % of the window goes unlabelled (the CSV has
# it), or the labels of a flapping view would print over each other.
lx(t) = t < t0 ? t0 : t
shown(a, b) = b >= t0 && a <= t1 && (b < t1 ? b : t1) - lx(a) >= 0.02 * (t1 - t0)
faults = selfile(csv, 'kind=fault')
network = selfile(csv, 'kind=network')
plot \
    network \
        using ((column('t_start') + column('t_end')) / 2):((nn - 1) / 2.0):((column('t_end') - column('t_start')) / 2):(nn / 2.0) \
        with boxxyerror fc rgb '#ff7f0e' fs transparent solid 0.12 noborder title 'fault without a node (partition, loss ...)', \
    network using (lx(column('t_start'))):(-0.42):(strcol('detail')) \
        with labels left offset 0.3, 0 font ',8' tc rgb '#b35806' noenhanced notitle, \
    selfile(csv, 'kind=phase') \
        using ((column('t_start') + column('t_end')) / 2):((nn - 1) / 2.0):((column('t_end') - column('t_start')) / 2):(nn / 2.0) \
        with boxxyerror fc rgb '#2ca02c' fs transparent solid 0.15 noborder title 'liveness phase', \
    faults using ((column('t_start') + column('t_end')) / 2):'node':((column('t_end') - column('t_start')) / 2):(0.4) \
        with boxxyerror fc rgb red fs transparent solid 0.22 noborder title 'fault of that node (crash, pause, slow ...)', \
    faults using (lx(column('t_start'))):(column('node') + 0.33):(word(strcol('detail'), 1)) \
        with labels left offset 0.3, 0 font ',8' tc rgb red notitle, \
    selfile(csv, 'kind=hold,role=other') \
        using ((column('t_start') + column('t_end')) / 2):'node':((column('t_end') - column('t_start')) / 2):(0.07) \
        with boxxyerror fc rgb '#999999' fs solid 0.6 noborder title 'other holds', \
    selfile(csv, 'kind=request') using 't_start':'node':(column('t_end') - column('t_start')):(0) \
        with vectors nohead lw 1 lc rgb '#555555' notitle, \
    selfile(csv, 'kind=hold,role=first') \
        using ((column('t_start') + column('t_end')) / 2):'node':((column('t_end') - column('t_start')) / 2):(0.16) \
        with boxxyerror fc rgb blue fs solid 0.75 noborder title 'first holder', \
    selfile(csv, 'kind=hold,role=second') \
        using ((column('t_start') + column('t_end')) / 2):'node':((column('t_end') - column('t_start')) / 2):(0.16) \
        with boxxyerror fc rgb red fs solid 0.75 noborder title 'second holder', \
    selfile(csv, 'kind=hold') using (lx(column('t_start'))):(strcol('role') eq 'other' ? NaN : column('node')):(sprintf('token %s', strcol('token'))) \
        with labels left offset 0.3, 0 font ',8' tc rgb 'white' notitle, \
    selfile(csv, 'kind=quorum') using 't_end':'peer':(0):(column('node') - column('peer')) \
        with vectors nohead dt 3 lw 1 lc rgb '#444444' notitle, \
    selfile(csv, 'kind=quorum,role=first') using 't_end':'node' \
        with points pt 7 ps 1.6 lc rgb blue title "first holder's quorum", \
    selfile(csv, 'kind=quorum,role=second') using 't_end':'node' \
        with points pt 9 ps 1.6 lc rgb red title "second holder's quorum", \
    selfile(csv, 'kind=view') using (shown(column('t_start'), column('t_end')) ? lx(column('t_start')) : NaN):(column('node') - 0.3): \
        (vlabel(word(strcol('detail'), 1), strcol('view_size'), strcol('tree_size'), strcol('epoch'))) \
        with labels left offset 0.2, 0 font ',8' tc rgb '#333333' notitle
