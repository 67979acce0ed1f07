#!/usr/bin/env bash
# hvbench merge: two hosts' runs (tests/fixtures/fleet, make_fleet.py) into
# one folder of runs with merge.csv; merging again is idempotent and adds
# runs; refusals (incomplete run, one run id with other content, a
# non-empty directory that is no merge) write nothing; compare and report
# take folders of runs and keep the hosts apart.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/runner.sh merge
fleet=tests/fixtures/fleet
A=20261204-010000-fleet-a-1111 B=20261204-010500-fleet-b-2222
fix=tests/fixtures/results
partial=$fix/20261126-113000-fixhost-4343
other=$fix/20261126-101500-fixhost-4242

merge() { # merge NAME ARGS...: stdout+stderr in $tmp/NAME.out, rc
	local name=$1
	shift
	"$HVBENCH" merge "$@" >"$tmp/$name.out" 2>&1
	rc=$?
}
has() { grep -q -- "$2" "$tmp/$1.out"; }
lacks() { [ -f "$2" ] && ! grep -q -- "$1" "$2"; }
all_of() { # all_of 'CMD' ...: every command (a string, evaluated) succeeds
	local c
	for c; do eval "$c" || return 1; done
}

# The fixture is what its generator writes.
"$PY" $fleet/make_fleet.py "$tmp/gen" >/dev/null
check "make_fleet.py writes the committed fleet fixture, byte for byte" \
	diff -r -q --exclude=make_fleet.py "$tmp/gen" "$fleet"

m=$tmp/m
merge first --out "$m" "$fleet"
check "merge of a folder of two hosts' runs succeeds (rc $rc)" [ "$rc" -eq 0 ]
check "... prints the merge folder on stdout" has first "^$m\$"
check "... one directory per run" all_of '[ -f "$m/$A/meta.csv" ]' '[ -f "$m/$B/samples.csv" ]'
check "... merge.csv has the header" \
	[ "$(head -1 "$m/merge.csv")" = "run_id,host_name,host_identity,host_kind,status,source,rows" ]
check "... host a's row: name, identity, kind, status, source, rows" \
	grep -qx "$A,fleet-a,a1a1a1a1a1a1a1a1,bare-metal,complete,$fleet/$A,1216" "$m/merge.csv"
check "... host b's row" \
	grep -qx "$B,fleet-b,b2b2b2b2b2b2b2b2,nested,complete,$fleet/$B,1216" "$m/merge.csv"
check "... no temporary left" [ -z "$(ls -A "$m" | grep -v "^$A\$\|^$B\$\|^merge.csv\$")" ]
if [ "$(stat -c %d "$tmp")" = "$(stat -c %d "$fleet")" ]; then
	check "... on one file system the files are hard links of the source" \
		[ "$(stat -c %i "$m/$A/samples.csv")" = "$(stat -c %i "$fleet/$A/samples.csv")" ]
else
	skip "hard links: $tmp and $fleet are on different file systems"
fi
if [ -d /dev/shm ] && [ "$(stat -c %d /dev/shm)" != "$(stat -c %d "$fleet")" ]; then
	shm=$(mktemp -d /dev/shm/hvb-merge-XXXXXX)
	merge shm --out "$shm/m" "$fleet/$A"
	check "across file systems the run is copied, byte for byte (rc $rc)" \
		diff -r -q "$shm/m/$A" "$fleet/$A"
	check "... not linked, and merge says so" \
		[ "$(stat -c %i "$shm/m/$A/samples.csv")" != "$(stat -c %i "$fleet/$A/samples.csv")" ]
	check "... (the message says copied)" has shm "$A copied from"
	rm -rf "$shm"
else
	skip "copy across file systems: no /dev/shm on another file system"
fi

cp "$m/merge.csv" "$tmp/index.1"
merge again --out "$m" "$fleet"
check "merging the same runs again succeeds (rc $rc)" [ "$rc" -eq 0 ]
check "... and changes nothing (merge.csv byte for byte)" cmp -s "$m/merge.csv" "$tmp/index.1"
check "... saying the runs are already there" has again "$A already in"
merge self --out "$m" "$m"
check "a merge folder merged into itself changes nothing (rc $rc)" \
	cmp -s "$m/merge.csv" "$tmp/index.1"

merge add --out "$m" "$other"
check "merging another run into the folder adds it (rc $rc)" \
	all_of '[ "$rc" -eq 0 ]' '[ "$(wc -l <"$m/merge.csv")" -eq 4 ]'
check "... keeps the earlier rows as they were" \
	[ "$(head -3 "$m/merge.csv")" = "$(cat "$tmp/index.1")" ]
check "... a run without host_identity has an empty identity" \
	grep -q "^20261126-101500-fixhost-4242,fixhost,,,complete," "$m/merge.csv"
cp "$m/merge.csv" "$tmp/index.2"

# Refusals leave the folder as it was.
merge part --out "$m" "$partial"
check "an incomplete run is refused without --allow-partial (rc $rc = 2)" [ "$rc" -eq 2 ]
check "... the message says how to accept it" has part "incomplete (meta.csv status running); pass --allow-partial"
check "... nothing written" all_of 'cmp -s "$m/merge.csv" "$tmp/index.2"' \
	'[ ! -e "$m/$(basename "$partial")" ]'
cp -r "$fleet/$A" "$tmp/dup"
sed -i '2s/,95\.959,/,96.959,/' "$tmp/dup/samples.csv"
merge dup --out "$m" "$tmp/dup"
check "a run id already merged with other content is refused (rc $rc = 2)" [ "$rc" -eq 2 ]
check "... naming the file that differs" has dup "already in $m with other content (samples.csv differs)"
check "... the merged run and the index untouched" \
	all_of 'cmp -s "$m/merge.csv" "$tmp/index.2"' 'diff -r -q "$m/$A" "$fleet/$A"'
merge dup2 --out "$tmp/m2" "$fleet/$A" "$tmp/dup"
check "two inputs with one run id and different content are refused (rc $rc = 2)" [ "$rc" -eq 2 ]
check "... before anything is written (not even the folder)" test ! -e "$tmp/m2"
merge twice --out "$tmp/m3" "$fleet/$A" "$fleet/$A"
check "the same run given twice is merged once (rc $rc)" \
	all_of '[ "$rc" -eq 0 ]' '[ "$(wc -l <"$tmp/m3/merge.csv")" -eq 2 ]'
mkdir "$tmp/notmerge" && touch "$tmp/notmerge/notes.txt"
merge notm --out "$tmp/notmerge" "$fleet"
check "a non-empty directory that is not a merge folder is refused (rc $rc = 2)" [ "$rc" -eq 2 ]
check "... saying what to give instead" has notm "not empty and not a merge folder (no merge.csv)"
check "... untouched" [ "$(ls -A "$tmp/notmerge")" = notes.txt ]
merge partok --out "$m" --allow-partial "$partial"
check "with --allow-partial the incomplete run is merged (rc $rc)" [ "$rc" -eq 0 ]
check "... and merge.csv marks its status" \
	grep -q "^20261126-113000-fixhost-4343,fixhost,,,running,$partial,36\$" "$m/merge.csv"
check "... its *.partial files are there" [ -f "$m/20261126-113000-fixhost-4343/samples.csv.partial" ]
check "... copied, not linked (a live writer would change a link under it)" \
	[ "$(stat -c %i "$m/20261126-113000-fixhost-4343/samples.csv.partial")" != \
	  "$(stat -c %i "$partial/samples.csv.partial")" ]

# A merge killed after placing a run, before its index: the next one indexes it.
mkdir "$tmp/m4" && "$HVBENCH" merge --out "$tmp/m4" "$fleet/$A" >/dev/null 2>&1
cp -r "$fleet/$B" "$tmp/m4/$B" && mkdir "$tmp/m4/.merge-x.tmp"
merge crash --out "$tmp/m4" "$fleet/$B"
check "a run placed by a killed merge is indexed by the next (rc $rc)" \
	grep -q "^$B,fleet-b," "$tmp/m4/merge.csv"
check "... and the killed merge's temporary directory is removed" [ ! -e "$tmp/m4/.merge-x.tmp" ]
rm -r "$tmp/m4/$A"
merge removed --out "$tmp/m4" "$fleet/$A"
check "a run removed from the folder is placed again, still one index row (rc $rc)" \
	all_of '[ -f "$tmp/m4/$A/samples.csv" ]' '[ "$(grep -c "^$A," "$tmp/m4/merge.csv")" -eq 1 ]'
printf 'not,an,index\n' >"$tmp/m4/merge.csv"
merge badidx --out "$tmp/m4" "$fleet/$A"
check "a merge.csv with another header is refused (rc $rc = 2)" all_of '[ "$rc" -eq 2 ]' 'has badidx "not an hvbench merge index"'

merge noout "$fleet"
check "merge without --out is a usage error (rc $rc = 2)" all_of '[ "$rc" -eq 2 ]' 'has noout "give --out DIR"'
merge notrun --out "$tmp/m5" "$tmp/notmerge"
check "an input that is neither a run nor a folder of runs is refused (rc $rc = 2)" \
	all_of '[ "$rc" -eq 2 ]' 'has notrun "no run directory in it"'
"$HVBENCH" merge --help >"$tmp/help.out" 2>&1
check "merge --help names merge.csv and --allow-partial" all_of 'has help merge.csv' 'has help --allow-partial'

# compare takes folders of runs.
"$HVBENCH" merge --out "$tmp/ha" "$fleet/$A" >/dev/null 2>&1
"$HVBENCH" merge --out "$tmp/hb" "$fleet/$B" >/dev/null 2>&1
ln -s "$A" "$tmp/ha/latest"
"$HVBENCH" compare -r kvm -w 'cpu/*' "$tmp/ha" "$tmp/hb" >"$tmp/cmp.out" 2>&1
rc=$?
check "compare of two one-host folders finds host b's kvm slower (rc $rc = 1)" [ "$rc" -eq 1 ]
check "... with 5 repetitions a side (a latest link does not count the run twice)" \
	grep -q "kvm  *cpu/sha256  *ns_per_op  *ns  *5/5 .*regression" "$tmp/cmp.out"
check "... and no pooling warning (one host a side)" lacks "pools runs of several hosts" "$tmp/cmp.out"
"$HVBENCH" compare -r kvm -w cpu/sha256 "$other" "$m/$A,$m/$B" >"$tmp/pool.out" 2>&1
check "a side that pools two hosts' runs gets a warning naming their identities" \
	grep -q "cand pools runs of several hosts (host_identity 'a1a1a1a1a1a1a1a1 | b2b2b2b2b2b2b2b2')" "$tmp/pool.out"
"$HVBENCH" compare "$tmp/notmerge" "$tmp/hb" >"$tmp/cmpbad.out" 2>&1
rc=$?
check "compare of a folder without runs is refused (rc $rc = 2)" \
	all_of '[ "$rc" -eq 2 ]' \
	'grep -q "notmerge: not a result directory (no meta.csv) and no run directory in it" "$tmp/cmpbad.out"'

# report takes a folder of runs and groups it by host.
"$HVBENCH" report --no-plots --out "$tmp/rep" "$tmp/ha/../m3" "$tmp/hb" >"$tmp/rep.out" 2>&1
rc=$?
html=$tmp/rep/report.html md=$tmp/rep/summary.md
check "report of two merge folders succeeds (rc $rc)" [ "$rc" -eq 0 ]
check "... has a Hosts section with each host's identity and kind" \
	all_of "grep -q 'data-host=\"fleet-a\" data-identity=\"a1a1a1a1a1a1a1a1\" data-kind=\"bare-metal\"' \"\$html\"" \
	"grep -q 'data-host=\"fleet-b\" data-identity=\"b2b2b2b2b2b2b2b2\" data-kind=\"nested\"' \"\$html\""
check "... a banner that says the runs are from 2 hosts, never pooled" \
	grep -q 'Runs from 2 hosts</b>: fleet-a (bare-metal, host_identity a1a1a1a1a1a1a1a1): run 1; fleet-b' "$html"
check "... every runner column names its host" \
	grep -q '<span class="dir" data-host="fleet-b">@ fleet-b</span>' "$html"
check "... summary.md has the Hosts table" grep -q '^| fleet-b | b2b2b2b2b2b2b2b2 | nested | run 2' "$md"
check "... and host-tagged overhead columns" grep -q '| kvm (run 2) @ fleet-b |' "$md"
"$HVBENCH" report --no-plots --out "$tmp/rep1" "$tmp/ha" >/dev/null 2>&1
check "a one-host folder's report has no Hosts section" lacks 'id="hosts"' "$tmp/rep1/report.html"
tap_done
