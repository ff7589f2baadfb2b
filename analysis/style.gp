# analysis/style.gp -- loaded by figures.sh before every figure script.
set grid xtics ytics lc rgb '#dddddd' lt 1
set key box opaque samplen 3 spacing 1.1
set border lw 1
set pointsize 1.1
set tics nomirror
set bars small
# Policy: colour ae blue, memberlist red; dash solid / dashed; points filled / open.
pcolour(pol) = pol eq 'ae' ? '#1f77b4' : '#d62728'
pdash(pol) = pol eq 'ae' ? 1 : 2
# A second parameter's shades and point types: index i = 1, 2, ...
shade(pol, i) = pol eq 'ae' ? word('#1f77b4 #17becf #2ca02c #9467bd #08306b', i) : word('#d62728 #ff7f0e #e377c2 #8c564b #67000d', i)
ptfill(i) = word('7 5 9 11 13', i) + 0
ptopen(i) = word('6 4 8 10 12', i) + 0
ptype(pol, i) = pol eq 'ae' ? ptfill(i) : ptopen(i)
# Spread the two policies' points a little so that their error bars show.
xoff(pol) = pol eq 'ae' ? 0.985 : 1.015
subtitle(s) = sprintf("{/*0.8 %s}", s)
