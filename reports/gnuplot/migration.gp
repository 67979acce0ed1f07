# hvbench migrate: a runner's migration total time, VMM downtime and guest
# downtime (its largest heartbeat gap) against the guest's dirty rate, each
# the median with [min, max] over repetitions; one block of lines per
# (working set, bandwidth, downtime target), gnuplot `index`.
# datafile: rate, total ms, lo, hi, VMM downtime ms, lo, hi, guest downtime ms, lo, hi.
# Extra variables: nblocks, titles (one word per block), xtics_cmd, xlo, xhi,
# logx, logy (0/1), ylo, yhi.
set xlabel "guest dirty rate (MiB/s)"
set ylabel "ms (median, [min, max] over repetitions) — lower is better"
if (logx) { set logscale x 2 }
eval xtics_cmd
set xrange [xlo:xhi]
if (logy) { set logscale y 10; set format y "%g" }
set yrange [ylo:yhi]
set key top left font ",9"
plot for [i=0:nblocks-1] datafile index i using 1:2:3:4 with yerrorlines lw 2.5 pt 7 ps 0.9 \
         lc i+1 title sprintf("total %s", word(titles, i+1)), \
     for [i=0:nblocks-1] datafile index i using 1:5:6:7 with yerrorlines lw 1.5 dt 2 pt 5 \
         ps 0.8 lc i+1 title sprintf("downtime (VMM) %s", word(titles, i+1)), \
     for [i=0:nblocks-1] datafile index i using 1:8:9:10 with yerrorlines lw 1.5 dt 3 pt 9 \
         ps 0.8 lc i+1 title sprintf("downtime (guest) %s", word(titles, i+1))
