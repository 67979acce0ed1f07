# hvbench capacity: the probe's throughput against N (the worst probe VM of
# each repetition, median and [min, max]), the throughput SLO (a share of
# the N = 1 figure) as a horizontal line; marks as in capacity_latency.gp.
# datafile: n, median ops/s, min, max.  Extra variables: xtics_cmd, xlo,
# xhi, slo (ops/s, -1: none), yhi.
set xlabel "N (VMs at once)"
set ylabel "probe throughput per VM (ops/s) — higher is better"
eval xtics_cmd
set xrange [xlo:xhi]
set yrange [0:yhi]
set key top right
if (slo > 0) {
    set arrow 20 from graph 0, first slo to graph 1, first slo nohead lw 2 lc rgb "#cf222e" front
    set label 20 "throughput SLO" at graph 0.98, first slo right offset 0,-0.8 font ",9" \
        tc rgb "#cf222e" front
}
plot datafile using 1:2:3:4 with yerrorlines lw 2.5 pt 7 ps 0.9 lc rgb "#0072B2" \
     title "probe ops/s [min, max]"
