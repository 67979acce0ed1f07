# hvbench capacity: what each VM costs the host against N: PSS (MiB, left
# axis) and host CPU (% of one host CPU over its wall time, right axis), per VM; marks as in
# capacity_latency.gp.  datafile: n, PSS MiB per VM, host CPU % per VM.
# Extra variables: xtics_cmd, xlo, xhi, memhi, cpuhi.
set xlabel "N (VMs at once)"
set ylabel "PSS per VM (MiB) — lower is better"
set y2label "host CPU per VM (% of one CPU) — lower is better"
eval xtics_cmd
set xrange [xlo:xhi]
set yrange [0:memhi]
set y2range [0:cpuhi]
set y2tics nomirror
set key top left
plot datafile using 1:2 axes x1y1 with linespoints lw 2.5 pt 7 ps 0.9 lc rgb "#0072B2" \
         title "PSS per VM (MiB)", \
     datafile using 1:3 axes x1y2 with linespoints lw 2 dt 2 pt 5 ps 0.8 lc rgb "#D55E00" \
         title "host CPU per VM (% of one CPU)"
