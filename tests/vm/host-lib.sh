# Host-side helpers shared by mkinitramfs.sh, run-vm.sh, vm-test.sh, demo.sh.
# Sourced by bash scripts running with set -euo pipefail.

vm_die() {
	echo "vm: error: $*" >&2
	exit 1
}

# vm_need_cmd CMD PACKAGE: fail naming the Debian package if CMD is missing.
vm_need_cmd() {
	command -v "$1" >/dev/null 2>&1 || vm_die "'$1' not found: install the Debian package $2"
}

# The kernel the VM boots: $VFIOD_VM_KERNEL if set (meson option vm_kernel),
# else the newest /boot/vmlinuz-6.*.
vm_find_kernel() {
	local k
	if [ -n "${VFIOD_VM_KERNEL:-}" ]; then
		[ -r "$VFIOD_VM_KERNEL" ] || vm_die "kernel $VFIOD_VM_KERNEL (VFIOD_VM_KERNEL) not readable"
		echo "$VFIOD_VM_KERNEL"
		return 0
	fi
	# The newest 6.x kernel with VFIO modules: a machine may also hold
	# kernels without their modules (say, its own).
	k=
	for f in $(find /boot -maxdepth 1 -name 'vmlinuz-6.*' 2>/dev/null | sort -V); do
		[ -d "/lib/modules/${f##*/vmlinuz-}/kernel/drivers/vfio" ] && k=$f
	done
	[ -n "$k" ] || vm_die "no /boot/vmlinuz-6.* with VFIO modules found: install the Debian package linux-image-6.12-amd64"
	[ -r "$k" ] || vm_die "$k is not readable"
	echo "$k"
}

# vm_kernel_version /boot/vmlinuz-X: prints X, checks its modules exist.
vm_kernel_version() {
	local kver=${1##*/vmlinuz-}
	[ -n "$kver" ] && [ "$kver" != "$1" ] || vm_die "cannot tell the version of kernel $1 (expected .../vmlinuz-VERSION)"
	[ -f "/lib/modules/$kver/modules.dep" ] ||
		vm_die "/lib/modules/$kver/modules.dep missing: install the linux-image package of $1"
	echo "$kver"
}

# vm_quote STRING: single-quotes STRING for POSIX sh (busybox and bash).
vm_quote() {
	printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"
}

# vm_list_tests SRC: the guest tests, one name a line, from tests/vm/tests.list.
vm_list_tests() {
	local list=$1/tests/vm/tests.list
	[ -r "$list" ] || vm_die "missing $list"
	sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$list"
}
