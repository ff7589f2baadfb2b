# analysis/faults-latency.gp -- latency and throughput under faults with the
# open-loop workload: one column per fault kind (crashes, partitions, message
# loss), its rate on x (level 0, no fault, and every loss level: run once as
# "any policy", drawn in black);
# rows: latency from arrival p50 (filled) and p99 (open, dashed) on a log
# axis, throughput, and requests that timed out or found the client's queue
# full, per run. Ringed red: some run of the point was unsafe.
if (ext eq 'png') { set terminal pngcairo size 1400,1050 enhanced font 'sans,11' linewidth 1.5 } \
else { set terminal svg size 1400,1050 dynamic enhanced font 'sans,11' linewidth 1.5 background rgb 'white' }
set output out('faults-latency')
fi(f) = f eq 'crash' ? 1 : f eq 'partition' ? 2 : 3
ftitle(f) = f eq 'crash' ? 'crashes (restart after 10 s on average)' : \
            f eq 'partition' ? 'partitions (random shapes, mean 10 s)' : 'message loss (no view changes: run once for every policy)'
fxlabel(f) = f eq 'crash' ? 'crashes per second' : f eq 'partition' ? 'partitions per second' : 'loss probability'
frates(f) = f eq 'crash' ? '0 0.01 0.03 0.1' : f eq 'partition' ? '0 0.01 0.03 0.1' : '0 0.01 0.05 0.2'
# Level 0 (no fault) ran once, under the first fault kind's name.
f0 = word(vals_fault, 1)
pols = ''
do for [p in vals_policy] { if (p ne 'any') { pols = pols . ' ' . p } }
set multiplot layout 3, words(vals_fault) \
    title "Open-loop clients under faults: N = 9, every node a client, offered load 0.5, 50 ms holds, 5 s timeout\n" . \
    subtitle(cilabel . ', ' . nlabel)
set xrange [-0.4:3.4]
do for [row = 1:3] {
    do for [f in vals_fault] {
        set title row == 1 ? ftitle(f) : '' font ',10'
        set xlabel row == 3 ? fxlabel(f) : ''
        eval sprintf("set xtics ('none' 0, '%s' 1, '%s' 2, '%s' 3)", word(frates(f), 2), word(frates(f), 3), word(frates(f), 4))
        set key maxrows auto samplen 3 width 0
        set key off
        # Each row's key where that row has no point: above the latency
        # (in two columns; the axis reaches 3·10^5 ms for it, no request
        # waits beyond the 5 s timeout), below the throughput (the no-fault point sits at the top
        # left), above the timeouts.
        if (f eq word(vals_fault, 1)) { set key top left font ',9' maxrows (row == 1 ? 5 : 'auto') samplen (row == 1 ? 1.5 : 3) width (row == 1 ? -3 : 0) }
        if (f eq word(vals_fault, 1) && row == 2) { set key bottom left font ',9' }
        if (row == 1) {
            set logscale y; set yrange [5:3e5]; set ylabel 'latency from arrival (ms, log)'
            plot for [pol in pols] sel(sprintf('fault=%s,policy=%s,metric=lat_p50_ms', f, pol)) \
                    using (column('level') + xshift(pol, 1)):'mean':'ci_low':'ci_high' with yerrorlines \
                    dt 1 pt ptype(pol, 1) lc rgb pcolour(pol) title plabel(pol) . ' p50', \
                 for [pol in pols] sel(sprintf('fault=%s,policy=%s,metric=lat_p99_ms', f, pol)) \
                    using (column('level') + xshift(pol, 1)):'mean':'ci_low':'ci_high' with yerrorlines \
                    dt 2 pt ptype(pol, 2) lc rgb pcolour(pol) title plabel(pol) . ' p99', \
                 sel(sprintf('fault=%s,policy=any,metric=lat_p50_ms', f0)) using 'level':'mean':'ci_low':'ci_high' \
                    with yerrorbars pt 7 lc rgb '#000000' title 'no fault, p50', \
                 for [g in (f ne f0 ? f : '')] sel(sprintf('fault=%s,policy=any,metric=lat_p50_ms', g)) \
                    using 'level':'mean':'ci_low':'ci_high' with yerrorlines dt 1 pt 7 lc rgb '#000000' notitle, \
                 for [g in (f ne f0 ? f : '')] sel(sprintf('fault=%s,policy=any,metric=lat_p99_ms', g)) \
                    using 'level':'mean':'ci_low':'ci_high' with yerrorlines dt 2 pt 6 lc rgb '#000000' notitle, \
                 sel(sprintf('fault=%s,policy=any,metric=lat_p99_ms', f0)) using 'level':'mean':'ci_low':'ci_high' \
                    with yerrorbars pt 6 lc rgb '#000000' title 'no fault, p99', \
                 for [m in 'lat_p50_ms lat_p99_ms'] for [pol in pols] sel(sprintf('fault=%s,policy=%s,metric=%s', f, pol, m)) \
                    using (column('level') + xshift(pol, 1)):(unsafe(column('mean'))) @UNSAFE notitle, \
                 keyentry @UNSAFE title unsafe_title
            unset logscale y
        }
        if (row == 2) {
            set yrange [0:*]; set ylabel 'throughput (grants/s)'
            plot for [pol in pols] sel(sprintf('fault=%s,policy=%s,metric=throughput', f, pol)) \
                    using (column('level') + xshift(pol, 1)):'mean':'ci_low':'ci_high' with yerrorlines \
                    dt pdash(pol) pt ptype(pol, 1) lc rgb pcolour(pol) title plabel(pol), \
                 sel(sprintf('fault=%s,policy=any,metric=throughput', f0)) using 'level':'mean':'ci_low':'ci_high' \
                    with yerrorbars pt 7 lc rgb '#000000' title 'no fault', \
                 for [g in (f ne f0 ? f : '')] sel(sprintf('fault=%s,policy=any,metric=throughput', g)) \
                    using 'level':'mean':'ci_low':'ci_high' with yerrorlines pt 7 lc rgb '#000000' notitle, \
                 for [pol in pols] sel(sprintf('fault=%s,policy=%s,metric=throughput', f, pol)) \
                    using (column('level') + xshift(pol, 1)):(unsafe(column('mean'))) @UNSAFE notitle
        }
        if (row == 3) {
            set yrange [0:*]; set ylabel 'requests per run'
            plot for [pol in pols] sel(sprintf('fault=%s,policy=%s,metric=timeouts', f, pol)) \
                    using (column('level') + xshift(pol, 1)):'mean':'ci_low':'ci_high' with yerrorlines \
                    dt 1 pt ptype(pol, 1) lc rgb pcolour(pol) title plabel(pol) . ' timeouts', \
                 for [pol in pols] sel(sprintf('fault=%s,policy=%s,metric=queue_dropped', f, pol)) \
                    using (column('level') + xshift(pol, 1)):'mean':'ci_low':'ci_high' with yerrorlines \
                    dt 2 pt ptype(pol, 2) lc rgb pcolour(pol) title plabel(pol) . ' queue full', \
                 for [g in (f ne f0 ? f : '')] sel(sprintf('fault=%s,policy=any,metric=timeouts', g)) \
                    using 'level':'mean':'ci_low':'ci_high' with yerrorlines dt 1 pt 7 lc rgb '#000000' notitle, \
                 for [g in (f ne f0 ? f : '')] sel(sprintf('fault=%s,policy=any,metric=queue_dropped', g)) \
                    using 'level':'mean':'ci_low':'ci_high' with yerrorlines dt 2 pt 6 lc rgb '#000000' notitle, \
                 for [m in 'timeouts queue_dropped'] for [pol in pols] sel(sprintf('fault=%s,policy=%s,metric=%s', f, pol, m)) \
                    using (column('level') + xshift(pol, 1)):(unsafe(column('mean'))) @UNSAFE notitle
        }
    }
}
unset multiplot
