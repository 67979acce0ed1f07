# Slowdown vs native per workload, one bar per runner, bootstrap CI whiskers.
# datafile columns: workload, then per series: slowdown, ci_lo, ci_hi.
# logy=1: values are slowdowns (x, native = 1) on a log axis; logy=0: values
# are overhead % ((slowdown - 1) * 100, native = 0) on a linear axis.
# Extra variables: plot_title, logy (0/1).
# (no title: the HTML figure caption says what this is)
set style data histograms
set style histogram errorbars gap 1.5 lw 1.2
set style fill solid 0.85 border -1
set boxwidth 0.9
set xtics rotate by -30 left nomirror
set bmargin 6
if (logy) {
    set ylabel "slowdown vs native (×, log) — lower is better"
    set logscale y 10; set format y "%g"
    set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead dt 2 lw 1.5 lc rgb "#000000" front
} else {
    set ylabel "overhead vs native (%) — lower is better"
    set format y "%+g%%"
    set yrange [*<0:0<*]
    set arrow 1 from graph 0, first 0 to graph 1, first 0 nohead lw 1 lc rgb "#000000" front
}
plot for [i=1:NS] datafile using (column(3*i-1)):(column(3*i)):(column(3*i+1)):xtic(1) \
     title TITLES[i] lc rgb COLORS[i] fs pattern (EMU[i] ? 4 : 3) border lc rgb "#333333"
