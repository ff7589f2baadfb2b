# analysis/qsys-style.gp -- one colour and point shape per quorum system for
# the qsys-* figures (loaded by them after style.gp); measured series are
# solid lines with their intervals, analytic curves dashed in the same colour.
qcolour(q) = q eq 'tree' ? '#1f77b4' : q eq 'majority' ? '#d62728' : q eq 'grid' ? '#2ca02c' : '#555555'
qshape(q) = q eq 'tree' ? 7 : q eq 'majority' ? 5 : q eq 'grid' ? 9 : 13
# Spread the systems' points a little along x so their bars do not overlap.
qoff(q) = q eq 'tree' ? -0.5 : q eq 'grid' ? 0.5 : 0
# The same on a log axis (N from 9 to 256): a factor.
qmul(q) = q eq 'tree' ? 0.97 : q eq 'grid' ? 1.03 : 1
