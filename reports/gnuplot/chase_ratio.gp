# Pointer-chase slowdown vs native per working-set size (ratio of medians,
# bootstrap 95% CI): where the 2D page walk starts to cost.
# Ratio convention: log2 axis centred at 1 (native), as every ratio plot.
# datafile: blocks per series: size_bytes, slowdown, ci_lo, ci_hi
# Extra variables: xtics_cmd, ytics_cmd, ylo, yhi.
# (no title: the HTML figure caption says what this is)
set xlabel "working-set size (bytes, log2 scale)"
set ylabel "slowdown vs native (×, log2) — lower is better"
set logscale x 2
set logscale y 2
set yrange [ylo:yhi]
eval xtics_cmd
eval ytics_cmd
set grid xtics ytics lc rgb "#dddddd"
set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead dt 2 lw 1.5 lc rgb "#000000" front
set key top left
plot for [i=1:NS] datafile index (i-1) using 1:2:3:4 with yerrorlines \
     lw 2 pt PT[i] ps 0.8 dt DT[i]+2*EMU[i] lc rgb COLORS[i] title TITLES[i]
