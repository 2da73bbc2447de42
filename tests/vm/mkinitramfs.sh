#!/bin/bash
# mkinitramfs.sh OUT [KVER]
#
# Builds the VM test initramfs: busybox-static, tests/vm/initramfs-init.sh as
# /init, and the decompressed 9p root modules of kernel KVER (default: the
# version of the kernel run-vm.sh boots, see host-lib.sh) with their
# dependencies. The output is a gzip'd newc cpio, byte-for-byte reproducible.
# It is rebuilt only when an input changes: OUT.key records a hash of all
# inputs.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/vm/host-lib.sh
. "$here/host-lib.sh"

usage() {
	echo "usage: $0 OUT [KVER]" >&2
	exit 2
}

[ $# -ge 1 ] && [ $# -le 2 ] || usage
out=$1
if [ $# -eq 2 ]; then
	kver=$2
else
	kernel=$(vm_find_kernel) || exit 1
	kver=$(vm_kernel_version "$kernel")
fi

busybox=/bin/busybox
init_script=$here/initramfs-init.sh
moddir=/lib/modules/$kver
# Modules /init loads, with their dependencies (modprobe resolves them in load
# order): the 9p root, then what guest-init.sh would otherwise load with the
# host's modprobe, which is slower (xz decompression under TCG).
root_modules=(9pnet_virtio 9p overlay vfio-pci vfio_iommu_type1 e1000e e1000)
# Applets /init uses.
applets=(sh mount insmod mkdir ln poweroff sleep switch_root cat)

vm_need_cmd cpio cpio
vm_need_cmd xz xz-utils
vm_need_cmd modprobe kmod
[ -x "$busybox" ] || vm_die "missing $busybox (install busybox-static)"
[ -d "$moddir" ] || vm_die "missing $moddir (install linux-image-$kver)"

# Module paths in load order, duplicates removed.
mapfile -t modules < <(
	for m in "${root_modules[@]}"; do
		modprobe -S "$kver" --show-depends "$m" || vm_die "modprobe cannot resolve $m for $kver"
	done | awk '$1 == "insmod" && !seen[$2]++ { print $2 }'
)
[ ${#modules[@]} -gt 0 ] || vm_die "no modules resolved for ${root_modules[*]}"

# Everything that goes into the image, hashed. The cpio/gzip versions are part
# of it because they decide the bytes.
key=$(
	{
		echo "kver $kver"
		echo "applets ${applets[*]}"
		cpio --version | head -n 1
		gzip --version | head -n 1
		sha256sum "$0" "$init_script" "$busybox" "${modules[@]}"
	} | sha256sum | cut -d ' ' -f 1
)
if [ -f "$out" ] && [ -f "$out.key" ] && [ "$(cat "$out.key")" = "$key" ]; then
	exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vfiod-initramfs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root
mkdir -p "$root"/{bin,dev,proc,sys,newroot,modules}
cp "$busybox" "$root/bin/busybox"
for a in "${applets[@]}"; do
	ln -s busybox "$root/bin/$a"
done
cp "$init_script" "$root/init"
chmod 0755 "$root/init" "$root/bin/busybox"

: >"$root/modules/load.order"
for m in "${modules[@]}"; do
	name=$(basename "$m")
	case $name in
	*.ko.xz) xz -dc "$m" >"$root/modules/${name%.xz}" ;;
	*.ko.zst) zstd -dcq "$m" >"$root/modules/${name%.zst}" ;;
	*.ko.gz) gzip -dc "$m" >"$root/modules/${name%.gz}" ;;
	*.ko) cp "$m" "$root/modules/$name" ;;
	*) vm_die "unknown module format: $m" ;;
	esac
	echo "${name%.ko*}.ko" >>"$root/modules/load.order"
done

# No /dev/console node here (creating one needs root): the kernel's built-in
# initramfs provides it, and /init reopens the console after mounting devtmpfs.
find "$root" -exec touch -h -d @0 {} +
(cd "$root" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
	cpio --null --create --format=newc --reproducible --owner=0:0 --quiet) |
	gzip -n -9 >"$tmp/initramfs"

mkdir -p "$(dirname "$out")"
mv "$tmp/initramfs" "$out"
echo "$key" >"$out.key"
