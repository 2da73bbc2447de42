#!/bin/bash
# test-unit-security.sh SERVICE SOCKET VFIOD: the hardening of vfiod.service,
# as systemd-analyze sees it. `verify` must be silent (no warning at all) and
# `security --offline` must score an exposure of 2.0 or lower; the score and
# the settings that count against it are printed.
#
# SERVICE is the configured unit (build tree); its ExecStart= points at the
# install location, so a copy with VFIOD (the built binary) in its place is
# checked: verify insists that the binary exists. The host's own units
# (sysinit.target, modprobe@.service, dbus.socket) satisfy the dependencies.
set -euo pipefail

service=$1 socket=$2 vfiod=$3
max_exposure=2.0

command -v systemd-analyze >/dev/null || { echo "skipped: no systemd-analyze"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed "s|^ExecStart=[^ ]*|ExecStart=$vfiod|" "$service" >"$tmp/vfiod.service"
cp "$socket" "$tmp/vfiod.socket"
grep -q "^ExecStart=$vfiod " "$tmp/vfiod.service" || { echo "no ExecStart= in $service"; exit 1; }

status=0
echo "# systemd-analyze verify"
if ! out=$(cd "$tmp" && systemd-analyze verify --man=false --generators=false \
	./vfiod.service ./vfiod.socket 2>&1) || [ -n "$out" ]; then
	echo "$out"
	echo "FAIL: systemd-analyze verify is not clean"
	status=1
fi

echo "# systemd-analyze security --offline=true"
out=$(cd "$tmp" && systemd-analyze security --offline=true --no-pager ./vfiod.service 2>&1) || true
grep '✗' <<<"$out" || true
score=$(sed -n 's/^→ Overall exposure level for vfiod.service: \([0-9.]*\) .*/\1/p' <<<"$out")
if [ -z "$score" ]; then
	echo "$out"
	echo "FAIL: no exposure level in the output"
	exit 1
fi
echo "exposure: $score (at most $max_exposure)"
if ! awk -v s="$score" -v m="$max_exposure" 'BEGIN { exit !(s <= m) }'; then
	echo "FAIL: exposure $score is above $max_exposure"
	status=1
fi
exit $status
