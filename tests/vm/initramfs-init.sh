#!/bin/sh
# /init of the VM test initramfs (busybox sh). Loads the 9p modules, mounts the
# host root read-only plus the writable results share, prepares the writable
# tmpfs directories and /dev, and switch_roots into tests/vm/guest-init.sh of the source
# tree named in results/vm.conf. See tests/vm/README.md.

PATH=/bin
export PATH

die() {
	echo "initramfs: $*" >&2
	echo "initramfs: powering off" >&2
	poweroff -f
	sleep 10
}

mount -t proc proc /proc || die "cannot mount /proc"
mount -t sysfs sysfs /sys || die "cannot mount /sys"
mount -t devtmpfs devtmpfs /dev || die "cannot mount /dev"
exec </dev/console >/dev/console 2>&1

echo "initramfs: loading modules"
while read -r mod; do
	insmod "/modules/$mod" || die "insmod $mod failed"
done </modules/load.order
echo "initramfs: modules loaded"

# The host root never changes during a run, so cache it loosely: binaries and
# libraries are read once over 9p instead of on every exec.
mkdir -p /newroot
mount -t 9p -o ro,trans=virtio,version=9p2000.L,msize=512000,cache=loose hostroot /newroot ||
	die "cannot mount the host root (9p tag hostroot)"

# An untouched view of the host root, for trees the tmpfs mounts below hide.
mkdir -p /hostroot
mount --bind /newroot /hostroot || die "cannot bind the host root"

for d in /tmp /run /var/tmp /dev; do
	[ -d "/newroot$d" ] || die "the host root has no $d"
done
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /newroot/tmp || die "tmpfs /tmp"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /newroot/var/tmp || die "tmpfs /var/tmp"
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /newroot/run || die "tmpfs /run"

# Results: written by the guest, read by the host after qemu exits. No cache,
# so every write reaches the host at once.
mkdir -p /newroot/run/vmtest/results
mount -t 9p -o rw,trans=virtio,version=9p2000.L,msize=512000 results /newroot/run/vmtest/results ||
	die "cannot mount the results share (9p tag results)"

conf=/newroot/run/vmtest/results/vm.conf
[ -r "$conf" ] || die "missing $conf"
# shellcheck disable=SC1090
. "$conf"
[ -n "$SOURCE_DIR" ] || die "SOURCE_DIR not set in vm.conf"
# A source or build tree under /tmp, /var/tmp or /run (CI may clone there) is
# bound back over the guest's tmpfs from the untouched view.
for dir in "$SOURCE_DIR" "$BUILD_DIR"; do
	case $dir in
	/tmp/* | /var/tmp/* | /run/*)
		mkdir -p "/newroot$dir" && mount --bind "/hostroot$dir" "/newroot$dir" ||
			die "cannot bind $dir into the guest"
		;;
	esac
done
umount /hostroot || die "cannot unmount the host root view"
init="$SOURCE_DIR/tests/vm/guest-init.sh"
[ -x "/newroot$init" ] || die "no executable $init on the host root"

# What the guest's /dev lacks without udev: ptys, shared memory, /dev/fd.
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=0620,ptmxmode=0666 devpts /dev/pts || die "devpts"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm || die "tmpfs /dev/shm"
ln -s /proc/self/fd /dev/fd
ln -s /proc/self/fd/0 /dev/stdin
ln -s /proc/self/fd/1 /dev/stdout
ln -s /proc/self/fd/2 /dev/stderr
echo vfiod-vm >/proc/sys/kernel/hostname

mount --move /dev /newroot/dev || die "cannot move /dev"
mount --move /proc /newroot/proc || die "cannot move /proc"
mount --move /sys /newroot/sys || die "cannot move /sys"

# shellcheck disable=SC2093 # die only runs if the exec fails
exec switch_root /newroot "$init"
die "switch_root failed"
