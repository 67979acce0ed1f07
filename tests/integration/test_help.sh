#!/usr/bin/env bash
# Every command answers --help with exit 0 on stdout, in 80 columns, with the
# long option names in one column; a usage error exits 2 and says what to do.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
HVBENCH=${HVBENCH:-build/hvbench}
tmp=$(mktemp -d /tmp/hvb-help-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

"$HVBENCH" --help >"$tmp/top"
check "hvbench --help exits 0" [ "$?" -eq 0 ]
cmds=$(sed -n '/^commands:/,/^$/p' "$tmp/top" | awk 'NF > 1 { print $1 }')
check "hvbench --help lists commands" [ -n "$cmds" ]
for c in $cmds; do
	[ "$c" = report ] && continue # argparse's own help (reports/README.md)
	"$HVBENCH" "$c" --help >"$tmp/$c" 2>&1
	check "$c --help exits 0" [ "$?" -eq 0 ]
	check "$c --help fits in 80 columns" awk 'length > 80 { exit 1 }' "$tmp/$c"
	# An option line: two spaces, then "-x, --name" or four spaces and "--name".
	check "$c --help: long options line up" \
		awk '/^  (-., |    )--/ { if (index($0, "--") != 7) exit 1; n++ } END { exit !n }' \
		"$tmp/$c"
done
check "ab --help offers --unpaired, not its own default --paired" \
	awk '/^ +--unpaired / { u = 1 } /^ +--paired / { p = 1 } END { exit !(u && !p) }' "$tmp/ab"
"$HVBENCH" list --runners --workloads >"$tmp/both"
check "list --runners --workloads lists both" grep -q '^runners:' "$tmp/both"
check "... workloads too" grep -q '^workloads:' "$tmp/both"
"$HVBENCH" run --no-such-option >/dev/null 2>"$tmp/err"
check "an unknown option exits 2" [ "$?" -eq 2 ]
check "... and points at --help" grep -q -- "--help" "$tmp/err"

# Every environment variable hvbench reads (the C side and the report
# scripts it runs) is listed in --help and in the README.
"$HVBENCH" --help >"$tmp/help"
missing="" missing_readme=""
for v in $( (grep -rhoE 'getenv\("[A-Z_]+"\)|env(_uint)?\("[A-Z_]+"' src lib runners probes hv
	     grep -rhoE 'environ\.get\("[A-Z_]+"' reports) |
	   grep -oE '"[A-Z_]+"' | tr -d '"' | sort -u); do
	case $v in PATH | HOME) continue ;; esac
	grep -q "^  $v " "$tmp/help" || missing="$missing $v"
	grep -q "^| \`$v\` |" README.md || missing_readme="$missing_readme $v"
done
if [ -z "$missing" ]; then ok "--help lists every environment variable the code reads"
else not_ok "--help lists every environment variable the code reads" "missing:$missing"; fi
if [ -z "$missing_readme" ]; then ok "README.md's table lists every one of them too"
else not_ok "README.md's table lists every one of them too" "missing:$missing_readme"; fi
tap_done
