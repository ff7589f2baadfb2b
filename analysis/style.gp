# analysis/style.gp -- loaded by figures.sh before every figure script.
set grid xtics ytics lc rgb '#dddddd' lt 1
set key box opaque samplen 3 spacing 1.1
set border lw 1
set pointsize 1.1
set tics nomirror
set bars small
# Policies are styled by their place in the simulator's registry
# (`dmutex-sim --list policies`, handed in by figures.sh as `policies`), so a
# newly registered policy gets a colour, a dash and point shapes of its own
# with no edit here: 1st blue, 2nd red, 3rd green, 4th purple, 5th orange,
# 6th brown (then again).
pidx(pol) = sum [k=1:words(policies)] (word(policies, k) eq pol ? k : 0)
pk(pol) = pidx(pol) > 0 ? pidx(pol) : words(policies) + 1
pcolour(pol) = word('#1f77b4 #d62728 #2ca02c #9467bd #ff7f0e #8c564b', (pk(pol) - 1) % 6 + 1)
pdash(pol) = pk(pol)
# A second parameter's shades, per policy: index i = 1, 2, ...
pshades(k) = k == 1 ? '#1f77b4 #17becf #2ca02c #9467bd #08306b' : \
             k == 2 ? '#d62728 #ff7f0e #e377c2 #8c564b #67000d' : \
             k == 3 ? '#2ca02c #74c476 #006d2c #a1d99b #00441b' : \
             k == 4 ? '#9467bd #807dba #54278f #bcbddc #3f007d' : \
             k == 5 ? '#ff7f0e #fdae6b #d94801 #fdd0a2 #7f2704' : \
                      '#8c564b #c49c94 #5d3a32 #e7cbc4 #3b1f1a'
shade(pol, i) = pol eq 'any' ? word('#000000 #7f7f7f #555555 #bbbbbb #222222', i) : \
                word(pshades((pk(pol) - 1) % 6 + 1), i)
# Point shapes: each policy its own sequence (1st filled circle, square,
# triangles...; 2nd the same open; 3rd filled triangles first; 4th open
# triangles first; then again), so that no two policies share a point type.
pshapes(k) = k == 1 ? '7 5 9 11 13' : k == 2 ? '6 4 8 10 12' : k == 3 ? '9 11 13 7 5' : \
             '8 10 12 6 4'
ptype(pol, i) = word(pshapes((pk(pol) - 1) % 4 + 1), i) + 0
# Spread the policies' points a little so that their error bars show:
# a factor for log axes, an offset (in units of `step`) for linear ones.
pcentre(pol) = pol eq 'any' ? 0 : pk(pol) - (words(policies) + 1) / 2.0
xoff(pol) = 1 + 0.03 * pcentre(pol)
xshift(pol, step) = 0.16 * step * pcentre(pol)
subtitle(s) = sprintf("{/*0.8 %s}", s)
unsafenote = 'red ring: at least one run of the point had a safety violation'
# Safety next to every metric: a point any of whose runs had a safety
# violation (aggregate.awk's unsafe_runs > 0) gets a red ring around its
# marker. A figure plots each series again as
#   ... using X:(unsafe(column('mean'))) @UNSAFE notitle
# and explains the ring once with  keyentry @UNSAFE title unsafe_title
unsafe(y) = column('unsafe_runs') > 0 ? y : NaN
UNSAFE = "with points pt 6 ps 2.4 lw 1.5 lc rgb '#d62728'"
unsafe_title = 'ringed: unsafe runs'
# A point where the policy cannot matter is run once as policy "any"
# (experiments/common.sh, policy_free).
plabel(pol) = pol eq 'any' ? 'any policy' : pol
anynote = 'any policy: no membership change, so every policy runs identically (same hash): run once'
