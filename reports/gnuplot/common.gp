# Shared look of every hvbench plot.  Loaded by the driver before a template.
# The driver defines: datafile, NS (number of series), array TITLES[NS],
# array COLORS[NS], array EMU[NS] (1 = emulated runner: drawn hollow/dashed).
set encoding utf8
set datafile separator "\t"
set datafile missing "?"
set border 3 lw 1 lc rgb "#444444"
set tics nomirror textcolor rgb "#222222"
set grid ytics lc rgb "#dddddd" lw 1 dt 1
set key tmargin center horizontal Left reverse noautotitle samplen 2 spacing 1.1 width 1
set tmargin 3
