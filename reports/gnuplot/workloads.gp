# Runners side by side: one panel per workload, one bar per runner (median of
# the workload's primary metric over repetitions, whisker = 95% CI of the
# median), every runner at the same x in every panel.  Absolute convention:
# linear from 0, log10 when a panel spans more than two decades (its y label
# says so).  Missing bars carry a dashed outline with their status.
# datafile: blocks per panel: x, median, ci_lo, ci_hi, bar base, colour (0xRRGGBB).
# Extra variables: NP panels, NC columns, NRW rows, xtics_cmd, arrays PTITLE,
# PYLABEL, PLOG, PYMIN, PYMAX, PMARK (commands drawing the markers).
set key off
set tmargin 2
set bmargin 5
set style fill solid 0.85 border lc rgb "#333333"
set multiplot layout NRW,NC
do for [p=1:NP] {
    unset label
    unset object
    set title PTITLE[p] font ",10"
    set ylabel PYLABEL[p] font ",8"
    if (PLOG[p]) { set logscale y 10; set format y "%.0s%c" } else { unset logscale y; set format y "%g" }
    set yrange [PYMIN[p]:PYMAX[p]]
    set xrange [0.4:NS+0.6]
    eval xtics_cmd
    set xtics rotate by -35 left nomirror font ",8"
    eval PMARK[p]
    plot datafile index (p-1) using 1:2:($1-0.35):($1+0.35):5:2:6 with boxxyerror lc rgb variable, \
         datafile index (p-1) using 1:3:(0):($4-$3) with vectors nohead lw 1.2 lc rgb "#222222", \
         datafile index (p-1) using ($1-0.1):3:(0.2):(0) with vectors nohead lw 1.2 lc rgb "#222222", \
         datafile index (p-1) using ($1-0.1):4:(0.2):(0) with vectors nohead lw 1.2 lc rgb "#222222"
}
unset multiplot
