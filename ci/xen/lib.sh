# shellcheck shell=bash
# Common helpers for the ci/xen scripts.  Sourced, not executed.
#
# Layout (all under the work tree's build/, git-ignored):
#   $XEN_CACHE        build/xen-cache: downloaded .debs and their unpacked tree
#   $XEN_CACHE/root   every package dpkg -x'ed into one tree
#   $XEN_CACHE/debs   the .deb files (reused across runs)

XEN_TOP=${XEN_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
XEN_BUILD=${XEN_BUILD:-$XEN_TOP/build}
XEN_CACHE=${XEN_CACHE:-$XEN_BUILD/xen-cache}
XEN_ROOT=$XEN_CACHE/root
XEN_VER=4.17
XEN_LIBEXEC=$XEN_ROOT/usr/lib/xen-$XEN_VER

die() {
	echo "ci/xen: error: $*" >&2
	exit 1
}

note() {
	echo "ci/xen: $*" >&2
}

need_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 ||
			die "'$c' not found; install it (apt-get install $(pkg_of_cmd "$c"))"
	done
}

pkg_of_cmd() {
	case $1 in
	qemu-system-x86_64) echo qemu-system-x86 ;;
	cpio) echo cpio ;;
	apt-get | dpkg) echo apt ;;
	*) echo "$1" ;;
	esac
}

# The dom0 kernel: the version linux-image-amd64 points at (from the cache
# stamp written by fetch).
dom0_kver() {
	cat "$XEN_CACHE/kver" 2>/dev/null ||
		die "no dom0 kernel in $XEN_CACHE; run ci/xen/fetch first"
}

# Milliseconds since START (a `date +%s%N` value).
ms_since() {
	echo $((($(date +%s%N) - $1) / 1000000))
}

# MS milliseconds as seconds with one decimal.
fmt_ms() {
	printf '%d.%d' $(($1 / 1000)) $(($1 % 1000 / 100))
}
