# shellcheck shell=bash
# Building an initramfs out of unpacked Debian packages and host binaries:
# shared by ci/xen/mkinitrd (Xen dom0) and ci/nested/mkinitrd (a KVM host
# under TCG).  Sourced, not executed; the caller defines die() and sets
# -euo pipefail.
#
#   initrd_busybox STAGE BUSYBOX     static busybox as STAGE/bin/busybox,
#                                    every applet linked beside it
#   initrd_copy_libs STAGE ELF...    every shared library the ELF files need
#                                    (ldd; $INITRD_LIBPATH searched first)
#   initrd_modules STAGE MODDIR M... kernel modules M and their dependencies
#                                    into STAGE/lib/modules, load order in
#                                    STAGE/etc/modules.order
#   initrd_pack STAGE OUT            an uncompressed newc cpio of STAGE
#
# INITRD_LIBPATH: extra library directories (colon-separated) for ldd, e.g.
# an unpacked package tree's, searched before the host's.

INITRD_LIBDIR=/lib/x86_64-linux-gnu

initrd_busybox() {
	local stage=$1 a
	mkdir -p "$stage/bin"
	cp "$2" "$stage/bin/busybox"
	# Applets linked at build time, so /init needs no --install.
	for a in $("$stage/bin/busybox" --list); do
		[ -e "$stage/bin/$a" ] || ln -s busybox "$stage/bin/$a"
	done
}

initrd_copy_libs() {
	local stage=$1 f line name path
	shift
	mkdir -p "$stage$INITRD_LIBDIR"
	for f in "$@"; do
		file -L "$f" 2>/dev/null | grep -q 'dynamically linked' || continue
		while read -r line; do
			case $line in
			*'not found'*)
				die "$f needs ${line%% *}, which neither ${INITRD_LIBPATH:-the package tree} nor the host has" ;;
			*' => '*)
				name=${line%% =>*}
				path=${line#*=> }
				path=${path%% (*}
				[ -e "$stage$INITRD_LIBDIR/$name" ] || cp -L "$path" "$stage$INITRD_LIBDIR/$name" ;;
			/*)
				path=${line%% (*}
				mkdir -p "$stage$(dirname "$path")"
				[ -e "$stage$path" ] || cp -L "$path" "$stage$path" ;;
			esac
		done < <(LD_LIBRARY_PATH=${INITRD_LIBPATH:-} ldd "$f" 2>/dev/null)
	done
}

initrd_modules() {
	local stage=$1 moddir=$2 m n
	shift 2
	local -A modpath=() seen=()
	local order=()
	while IFS= read -r -d '' m; do
		n=$(basename "$m" .ko)
		modpath[$n]=$m
		modpath[${n//-/_}]=$m
	done < <(find "$moddir" -name '*.ko' -print0)
	_initrd_add_mod() {
		local n=$1 d deps
		[ -n "${seen[$n]:-}" ] && return 0
		seen[$n]=1
		[ -n "${modpath[$n]:-}" ] || die "kernel module $n not found in $moddir"
		deps=$(objcopy -O binary --only-section=.modinfo "${modpath[$n]}" /dev/stdout |
			tr '\0' '\n' | sed -n 's/^depends=//p' | tr ',' ' ')
		for d in $deps; do
			_initrd_add_mod "$d"
		done
		order+=("$n")
	}
	for m in "$@"; do
		_initrd_add_mod "$m"
	done
	mkdir -p "$stage/lib/modules" "$stage/etc"
	: >"$stage/etc/modules.order"
	for n in "${order[@]}"; do
		cp "${modpath[$n]}" "$stage/lib/modules/$n.ko"
		echo "$n" >>"$stage/etc/modules.order"
	done
	INITRD_MODULES=("${order[@]}")
}

initrd_pack() {
	local stage=$1 out=$2
	mkdir -p "$(dirname "$out")"
	(cd "$stage" && find . -print0 | LC_ALL=C sort -z |
		cpio --null -o -H newc --quiet -R 0:0) >"$out.tmp"
	mv "$out.tmp" "$out"
}
