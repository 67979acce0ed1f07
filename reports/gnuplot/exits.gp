# Exit-reason breakdown: share of each reason in the recorded reason counts of
# one repetition (median counts), one stacked bar per workload and runner.
# A composition: no better or worse direction.
# datafile: header "bar" + one column per reason; rows: bar label, percent per reason.
# Extra variables: NR (number of reasons), array RCOLORS[NR].
# (no title: the HTML figure caption says what this is)
set ylabel "share of recorded reason counts (%)"
set yrange [0:100]
set style data histograms
set style histogram rowstacked
set style fill solid 0.9 border rgb "#ffffff"
set boxwidth 0.75
set xtics rotate by -45 left nomirror font ",8"
set bmargin 9
set key outside right top vertical Left reverse
plot for [i=2:NR+1] datafile using (column(i)):xtic(1) title columnhead(i) lc rgb RCOLORS[i-1]
