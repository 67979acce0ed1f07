# Pointer-chase latency vs working-set size, one line per runner: the
# classic 2D page-walk picture (virtual runners leave native once the working
# set outgrows the TLB reach and every miss walks guest and host tables).
# datafile: blocks per series: size_bytes, median ns/op, ci_lo, ci_hi
# Extra variables: xtics_cmd, logy (0/1), ylo, yhi.  Absolute convention:
# linear from 0, log10 when the values span more than two decades.
# (no title: the HTML figure caption says what this is)
set xlabel "working-set size (bytes, log2 scale)"
set ylabel "ns per load (median, 95% CI) — lower is better"
set logscale x 2
set logscale y 10
set format y "%g"
eval xtics_cmd
set grid xtics ytics lc rgb "#dddddd"
set key top left
plot for [i=1:NS] datafile index (i-1) using 1:2:3:4 with yerrorlines \
     lw 2 pt PT[i] ps 0.8 dt DT[i]+2*EMU[i] lc rgb COLORS[i] title TITLES[i]
