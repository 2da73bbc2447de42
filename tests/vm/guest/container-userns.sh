#!/bin/bash
# A rootless container: a client that is root in an unprivileged user
# namespace (with its own mount and pid namespaces) and reaches vfiod through a
# bind mount of the private socket is authorized as its host uid, with its host
# groups, and recorded with its host pid.
. "$SOURCE_DIR/tests/vm/vfiod-lib.sh"

# Unprivileged user namespaces must be allowed (Debian kernels have a switch).
userns_clone=/proc/sys/kernel/unprivileged_userns_clone
if [ -e "$userns_clone" ] && [ "$(<"$userns_clone")" = 0 ]; then
	echo 1 >"$userns_clone"
fi
[ "$(</proc/sys/user/max_user_namespaces)" -gt 0 ] || skip "user namespaces are disabled"

# What a container runtime does, done by hand inside the new namespaces: a
# tmpfs of the container's own at /srv, the host's socket bind-mounted into it,
# then the client with the socket's container path. Prints the ids the client
# has inside before it execs.
# shellcheck disable=SC2016 # expanded by the inner shell
container_setup='
mount -t tmpfs -o mode=0755 container /srv
mkdir /srv/vfiod
: >/srv/vfiod/broker.sock
mount --bind /run/vfiod/broker.sock /srv/vfiod/broker.sock
read -r _ groups < <(grep "^Groups:" /proc/self/status)
echo "inside pid $$ uid $(id -u) gid $(id -g) groups ${groups:-none}"
exec "$@"'
CONTAINER_ADDRESS=unix:path=/srv/vfiod/broker.sock

# in_container UID GID GROUPS CMD...: CMD as root of a new user namespace
# (mapped to host UID/GID, with host supplementary GROUPS, "" for none) with
# its own mount and pid namespaces; CMD is pid 1 there.
in_container() {
	local uid=$1 gid=$2 groups=$3
	shift 3
	local ids=(--reuid="$uid" --regid="$gid" --clear-groups)
	[ -z "$groups" ] || ids=(--reuid="$uid" --regid="$gid" --groups="$groups")
	setpriv "${ids[@]}" -- unshare --user --map-root-user --mount --pid --fork \
		--kill-child -- bash -c "$container_setup" container "$@"
}

no_claims() {
	! busctl --address="$VFIOD_ADDRESS" tree io.vfiod.Broker1 | grep -q /claim/
}

child_of() { # PID: prints its first child's pid
	local pid=$1 child=
	read -r child _ <"/proc/$pid/task/$pid/children" || true
	echo "$child"
}

claim_property() { # CLAIM PROPERTY: prints the value of a u property
	local type value
	read -r type value < <(busctl --address="$VFIOD_ADDRESS" get-property io.vfiod.Broker1 \
		"$1" io.vfiod.Broker1.Claim "$2")
	[ "$type" = u ] || fail "get-property $2 of $1: type '$type'"
	echo "$value"
}

start_broker

note "uid 1001, root in its user namespace, holds EDU1 through the bind-mounted socket"
rm -f /tmp/holder.out
(exec >/tmp/holder.out 2>&1
	in_container 1001 1001 "" "$PROBE" --address "$CONTAINER_ADDRESS" \
		claim "$EDU1" --dma container --hold) &
launcher=$!
wait_until 30 grep -q '^holding' /tmp/holder.out || {
	cat /tmp/holder.out
	fail "the container client did not get $EDU1"
}
cat /tmp/holder.out
grep -q "^inside pid 1 uid 0 gid 0 " /tmp/holder.out || fail "the client is not root and pid 1 inside"
grep -q "^id 0x010000ed" /tmp/holder.out || fail "id register read from inside the container"
claim=$(sed -n 's/^claimed \([^ ]*\) mode container$/\1/p' /tmp/holder.out)
[ -n "$claim" ] || fail "no container-mode claim path in the output"

# The probe's host pid: the subshell ran setpriv, which exec'd unshare, whose
# forked child exec'd bash, which exec'd the probe.
unshare_pid=$(child_of "$launcher")
probe_pid=$(child_of "$unshare_pid")
[ -n "$probe_pid" ] || fail "no forked child of unshare"
[[ $(readlink "/proc/$probe_pid/exe") == */vfiod-probe ]] || fail "pid $probe_pid is not the probe"
[ "$(stat -c %u "/proc/$probe_pid")" = 1001 ] || fail "the probe is not host uid 1001"

holder_uid=$(claim_property "$claim" HolderUid)
holder_pid=$(claim_property "$claim" HolderPid)
note "HolderUid $holder_uid HolderPid $holder_pid (host pid of the probe $probe_pid, 1 inside)"
[ "$holder_uid" = 1001 ] || fail "HolderUid is $holder_uid, not the host uid 1001"
[ "$holder_pid" = "$probe_pid" ] || fail "HolderPid is $holder_pid, not the host pid $probe_pid"
grep -q "uid=1001 pid=$probe_pid" "$VM_ARTIFACTS/vfiod.log" ||
	fail "vfiod's log does not name uid=1001 pid=$probe_pid"

# Container-mode DMA: vfiod raised the memlock limit (DmaQuota=16M) from
# outside, through the host pid, with no setup inside the container.
memlock=$(sed -n 's/^Max locked memory  *\([0-9]*\) .*/\1/p' "/proc/$probe_pid/limits")
note "memlock limit of the container client: $memlock"
[ "$memlock" = $((16 << 20)) ] || fail "memlock limit $memlock, not the 16 MiB quota"

# SIGKILL: as pid 1 of its pid namespace, the probe ignores signals it has no
# handler for, SIGTERM included.
kill -KILL "$probe_pid"
wait "$launcher" 2>/dev/null || true
wait_until 10 no_claims ||
	fail "the claim outlived its container client"

note "uid 1003 (no rule), root in its user namespace, is refused as uid 1003"
out=$(in_container 1003 1003 "" "$PROBE" --address "$CONTAINER_ADDRESS" claim "$EDU1") &&
	fail "uid 1003 got $EDU1 from a user namespace: $out"
echo "$out"
grep -q "^error: .*PermissionDenied: .*uid 1003" <<<"$out" ||
	fail "expected PermissionDenied naming uid 1003"
stop_vfiod

# Groups: EDU2 only for host group 1005. SO_PEERGROUPS reports host gids, which
# the client sees as the overflow gid inside; root inside cannot add any.
mkdir -p /tmp/groups-policy
cat >/tmp/groups-policy/vfiod.conf <<EOF
[Rule edu2-for-group-1005]
Addresses=$EDU2
Groups=1005
DmaModes=container brokered
DmaQuota=16M
EOF
chmod 0644 /tmp/groups-policy/vfiod.conf
start_vfiod --no-system-bus --config /tmp/groups-policy/vfiod.conf --log-level debug

note "uid 1001 with host group 1005 gets EDU2 from its user namespace"
out=$(in_container 1001 1001 1005 "$PROBE" --address "$CONTAINER_ADDRESS" claim "$EDU2") ||
	fail "uid 1001 in group 1005: $out"
echo "$out"
grep -q "^inside .* groups 65534$" <<<"$out" || fail "group 1005 is not the overflow gid inside"
grep -q "^id 0x010000ed" <<<"$out" || fail "id register of $EDU2"

note "uid 1001 without group 1005, root inside, can neither add it nor get EDU2"
out=$(in_container 1001 1001 "" setpriv --groups=1005 -- id -G 2>&1) &&
	fail "root in the user namespace set supplementary groups: $out"
echo "$out"
out=$(in_container 1001 1001 "" "$PROBE" --address "$CONTAINER_ADDRESS" claim "$EDU2") &&
	fail "uid 1001 without group 1005 got $EDU2: $out"
echo "$out"
grep -q "^error: .*PermissionDenied: .*uid 1001" <<<"$out" ||
	fail "expected PermissionDenied naming uid 1001"
stop_vfiod
