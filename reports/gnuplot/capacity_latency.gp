# hvbench capacity: the probe's request latency against N (one line per
# percentile), the SLO as a horizontal line; N_max, the failing step, the
# overcommitted range and partial steps are marked by the driver (extra).
# datafile: n, p50, p99, p99 min, p99 max (over repetitions), p99.9, max (µs)
# Extra variables: xtics_cmd, xlo, xhi, slo (µs, -1: none), logy (0/1), ylo, yhi.
set xlabel "N (VMs at once)"
set ylabel "request latency (µs, median over repetitions) — lower is better"
eval xtics_cmd
set xrange [xlo:xhi]
if (logy) { set logscale y 10; set format y "%g" }
set yrange [ylo:yhi]
set key top left
if (slo > 0) {
    set arrow 20 from graph 0, first slo to graph 1, first slo nohead lw 2 lc rgb "#cf222e" front
    set label 20 sprintf("SLO p99 ≤ %g µs", slo) at graph 0.98, first slo right offset 0,-0.8 \
        font ",9" tc rgb "#cf222e" front
}
plot datafile using 1:2 with linespoints lw 2 pt 7 ps 0.8 lc rgb "#56B4E9" title "p50", \
     datafile using 1:3:4:5 with yerrorlines lw 2.5 pt 7 ps 0.9 lc rgb "#0072B2" \
         title "p99 [min, max]", \
     datafile using 1:6 with linespoints lw 1.5 dt 2 pt 5 ps 0.7 lc rgb "#E69F00" title "p99.9", \
     datafile using 1:7 with points pt 9 ps 0.9 lc rgb "#D55E00" title "max"
