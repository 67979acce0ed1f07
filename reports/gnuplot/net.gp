# Network round-trip latency: per net workload that times its round trips
# (net/udp-rr-64) and runner, a box from the median p50 to the median p99
# of the repetitions, a whisker to the median p99.9, and the median max as
# a dot (req_ns.*, converted to µs).  Absolute convention: linear from 0,
# log10 when the values span more than two decades.
# statfile: blocks (index i-1 per series): x, p50, p99, p999 (µs)
# maxfile: blocks per series: x, max (µs)
# Extra variables: statfile, maxfile, xtics_cmd (a `set xtics (...)` command), boxw,
# logy (0/1), ylo, yhi.
# (no title: the HTML figure caption says what this is)
if (logy) {
    set ylabel "round-trip latency, µs (log10) — lower is better"
    set logscale y 10
} else {
    set ylabel "round-trip latency, µs (linear) — lower is better"
}
set yrange [ylo:yhi]
eval xtics_cmd
set xtics nomirror
set xrange [-0.6:*]
set offsets 0, 0.6, 0, 0
set style fill solid 0.35 border -1
set boxwidth boxw*0.8 absolute
plot for [i=1:NS] statfile index (i-1) using 1:2:2:4:3 with candlesticks whiskerbars 0.5 \
        lc rgb COLORS[i] lw 1.2 title TITLES[i], \
     for [i=1:NS] maxfile index (i-1) using 1:2 with points pt PT[i] ps 0.7 lc rgb COLORS[i] notitle
