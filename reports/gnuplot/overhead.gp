# Slowdown vs native per workload, one bar per runner, bootstrap CI whiskers.
# The report's ratio convention: slowdown (x, > 1 = slower than native) on a
# log2 axis centred at 1, so 2x slower and 2x faster are equally far from
# native; bars grow from 1, not from the bottom of the axis.
# datafile: blocks per series: x, slowdown, ci_lo, ci_hi, x_left, x_right.
# Extra variables: xtics_cmd, ytics_cmd, ylo, yhi, xhi; missing bars are
# `set object`/`set label` markers written by the driver.
# (no title: the HTML figure caption says what this is)
set ylabel "slowdown vs native (×, log2) — lower is better"
set logscale y 2
set yrange [ylo:yhi]
set xrange [-0.5:xhi]
eval xtics_cmd
eval ytics_cmd
set xtics rotate by -30 left nomirror
set bmargin 6
set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead dt 2 lw 1.5 lc rgb "#000000" front
plot for [i=1:NS] datafile index (i-1) using 1:2:5:6:(1):2 with boxxyerror \
        fs solid 0.85 border lc rgb "#333333" lc rgb COLORS[i] title TITLES[i], \
     for [i=1:NS] datafile index (i-1) using 1:3:(0):($4-$3) with vectors nohead lw 1.2 \
        lc rgb "#222222" notitle, \
     for [i=1:NS] datafile index (i-1) using (($5+2*$1)/3):3:(($6-$5)/3):(0) with vectors nohead \
        lw 1.2 lc rgb "#222222" notitle, \
     for [i=1:NS] datafile index (i-1) using (($5+2*$1)/3):4:(($6-$5)/3):(0) with vectors nohead \
        lw 1.2 lc rgb "#222222" notitle
