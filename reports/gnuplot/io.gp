# Block I/O request latency: per io workload and runner, a box from the
# median p50 to the median p99 of the repetitions, a whisker to the median
# p99.9, and the median max as a dot (req_ns.*).  Absolute convention:
# linear from 0, log10 when the values span more than two decades.
# statfile: blocks (index i-1 per series): x, p50, p99, p999
# maxfile: blocks per series: x, max
# Extra variables: statfile, maxfile, xtics_cmd (a `set xtics (...)` command), boxw,
# logy (0/1), ylo, yhi.
# (no title: the HTML figure caption says what this is)
if (logy) {
    set ylabel "request latency, ns (log10) — lower is better"
    set logscale y 10
    set format y "%.0s%c"   # 100k = 10^5 ns, 1M = 10^6 ns
} else {
    set ylabel "request latency, ns (linear) — lower is better"
}
set yrange [ylo:yhi]
eval xtics_cmd
set xtics rotate by -30 left nomirror
set bmargin 6
set xrange [-0.6:*]
set offsets 0, 0.6, 0, 0
set style fill solid 0.35 border -1
set boxwidth boxw*0.8 absolute
plot for [i=1:NS] statfile index (i-1) using 1:2:2:4:3 with candlesticks whiskerbars 0.5 \
        lc rgb COLORS[i] lw 1.2 title TITLES[i], \
     for [i=1:NS] maxfile index (i-1) using 1:2 with points pt PT[i] ps 0.7 lc rgb COLORS[i] notitle
