#!/bin/bash
# The bash completion of vfioctl sources cleanly and completes commands,
# options and devices (from `vfioctl list` against the fake broker, when
# VFIOCTL_LIST_STUB names a stub printing a list, else sysfs).
# usage: test-completion.sh SCRIPT
set -u
. "$1" || { echo "cannot source $1"; exit 1; }
failures=0
checks=0

complete_line() { # WORDS... (the last is the word being completed)
	COMP_WORDS=("$@")
	COMP_CWORD=$(($# - 1))
	COMPREPLY=()
	_vfioctl
	echo "${COMPREPLY[*]}"
}

expect() { # WANT GOT
	checks=$((checks + 1))
	if [ "$1" != "$2" ]; then
		echo "expected '$1', got '$2'"
		failures=$((failures + 1))
	fi
}

expect "list show holders claim release bind unbind policy reload" "$(complete_line vfioctl '')"
expect "release reload" "$(complete_line vfioctl re)"
expect "--help" "$(complete_line vfioctl unbind -)"
expect "show" "$(complete_line vfioctl sh)"
expect "--system" "$(complete_line vfioctl --sy)"
expect "holders" "$(complete_line vfioctl --address unix:path=/x ho)"
expect "--json" "$(complete_line vfioctl show --j)"
expect "--json --help" "$(complete_line vfioctl --system list -)"
expect "container brokered" "$(complete_line vfioctl claim --dma '')"
expect "check" "$(complete_line vfioctl policy '')"
expect "--json" "$(complete_line vfioctl policy check --j)"
expect "--config --user --root --json --help" "$(complete_line vfioctl policy check -)"

# Devices come from the vfioctl named in COMP_WORDS[0]: a stub here.
stub=$(mktemp)
trap 'rm -f "$stub"' EXIT
cat >"$stub" <<'STUB'
#!/bin/sh
[ "$1 $2 $3" = "--address unix:path=/x list" ] || exit 1
echo "ADDRESS       ID         DRIVER"
echo "0000:00:02.0  1234:11e8  vfio-pci"
echo "0000:00:05.0  1b36:0010  vfio-pci"
STUB
chmod +x "$stub"
expect "0000:00:02.0 0000:00:05.0" "$(complete_line "$stub" --address unix:path=/x show 0000)"
expect "0000:00:05.0:" "$(complete_line "$stub" --address unix:path=/x claim --irq 0000:00:05)"

echo "$((checks - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
