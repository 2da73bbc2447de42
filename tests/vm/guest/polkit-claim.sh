#!/bin/bash
# polkit decides for system-bus callers without a static grant; the static
# policy alone for socket callers; a caller vanishing mid-check gets nothing
# and the daemon keeps serving others meanwhile (tests/vm/README.md, polkit).
. "$SOURCE_DIR/tests/vm/vfiod-lib.sh"

# claim_bus UID DEVICE [TIMEOUT]: Claim over the system bus with busctl.
claim_bus() {
	run_as "$1" "$1" timeout "${3:-30}" busctl --system call io.vfiod.Broker1 \
		/io/vfiod/Broker1 io.vfiod.Broker1.Manager Claim "asa{sv}" 1 "$2" 0 2>&1
}

start_system_bus
start_broker --system-bus
pid=$(vfiod_pid)

# Without polkitd: the static grant still works; anyone else is denied at once.
out=$(claim_bus 1001 "$EDU1") || fail "static grant without polkitd: $out"
out=$(claim_bus 1003 "$EDU2" 10) && fail "uid 1003 got $EDU2 with no polkitd: $out"
grep -q "polkit is not available" <<<"$out" || fail "no polkitd: expected the reason, got: $out"

# polkit's rules see user names: the harness's, or the host's for these uids.
name() { getent passwd "$1" | cut -d: -f1 | grep . || fail "uid $1 has no name"; }
cat >/etc/polkit-1/rules.d/10-vfiod-test.rules <<RULES
polkit.addRule(function(action, subject) {
	if (action.id == "io.vfiod.manage" && subject.user == "$(name 1003)")
		return polkit.Result.YES;
	if (action.id != "io.vfiod.claim-device")
		return polkit.Result.NOT_HANDLED;
	if (subject.user == "$(name 1003)" && action.lookup("vendor") == "1234" &&
	    action.lookup("iommu-group") != "")
		return polkit.Result.YES;
	if (subject.user == "$(name 1004)")
		return polkit.Result.NO;
	if (subject.user == "$(name 1006)") {
		polkit.spawn(["sleep", "5"]);
		return polkit.Result.YES;
	}
	return polkit.Result.NOT_HANDLED;
});
RULES
chmod 0644 /etc/polkit-1/rules.d/10-vfiod-test.rules
start_polkitd

# Allowed by a rule: a uid with no static grant gets the device over the bus.
out=$(claim_bus 1003 "$EDU2") || { cat "$VM_ARTIFACTS/polkitd.log"; fail "polkit rule yes: $out"; }
grep -q "/io/vfiod/Broker1/claim/" <<<"$out" || fail "polkit yes: no claim path in: $out"
grep -q "polkit: yes" "$VM_ARTIFACTS/vfiod.log" || fail "no audit line with polkit: yes"

# Denied by a rule; no rule and no agent: denied, promptly.
out=$(claim_bus 1004 "$EDU2") && fail "uid 1004 got $EDU2 against a rule: $out"
grep -q "polkit denied" <<<"$out" || fail "rule no: expected polkit denied, got: $out"
start=${EPOCHREALTIME/./}
out=$(claim_bus 1005 "$EDU3" 20) && fail "uid 1005 got $EDU3 with no rule: $out"
took=$(((${EPOCHREALTIME/./} - start) / 1000))
echo "no rule, no agent: denied in $took ms"
[ "$took" -lt 10000 ] || fail "denial took $took ms, not prompt (hung until a timeout?)"
grep -q "polkit denied" <<<"$out" || fail "no rule: expected polkit denied, got: $out"

# A socket client is decided by the static policy alone, polkit rule or not.
out=$(run_as 1003 1003 "$PROBE" claim "$EDU3") && fail "socket uid 1003 got $EDU3: $out"
grep -q "No rule in the vfiod policy" <<<"$out" || fail "socket: expected the policy's no: $out"

# A request that names an identity (uid/pid options) is refused, whoever it
# names: identity comes from the kernel's credentials only.
for who in 1003 1001; do
	out=$(run_as "$who" "$who" busctl --address="$VFIOD_ADDRESS" call io.vfiod.Broker1 \
		/io/vfiod/Broker1 io.vfiod.Broker1.Manager Claim "asa{sv}" 1 "$EDU3" \
		2 uid u 1001 pid u 1 2>&1) && fail "uid $who claimed with an identity field: $out"
	grep -q 'Unknown claim option "uid"' <<<"$out" || fail "identity field: got: $out"
done

# Reload() is the manage action: uid 1003 is allowed by the rule, 1004 is not.
reload_bus() {
	run_as "$1" "$1" busctl --system call io.vfiod.Broker1 /io/vfiod/Broker1 \
		io.vfiod.Broker1.Manager Reload 2>&1
}
out=$(reload_bus 1003) || fail "Reload by uid 1003 with the manage rule: $out"
out=$(reload_bus 1004) && fail "Reload by uid 1004 without a rule: $out"
grep -q "polkit denied io.vfiod.manage" <<<"$out" || fail "Reload by uid 1004: got: $out"

# A check polkit takes its time over (the rule sleeps 5 s) does not hold up
# anyone else: a socket client is served while it is pending, and the answer,
# when it comes, is acted on.
claim_bus 1006 "$EDU3" 30 >"$VM_ARTIFACTS/slow-claim.out" &
slow=$!
wait_until 10 grep -q "Asking polkit whether uid=1006" "$VM_ARTIFACTS/vfiod.log" ||
	fail "vfiod did not ask polkit about uid 1006"
start=${EPOCHREALTIME/./}
out=$(run_as 1001 1001 "$PROBE" claim "$EDU1") || fail "socket claim during a pending check: $out"
took=$(((${EPOCHREALTIME/./} - start) / 1000))
kill -0 "$slow" 2>/dev/null || fail "the polkit check ended before the socket client was served"
echo "socket claim while a polkit check was pending: $took ms"
wait "$slow" || fail "uid 1006, allowed after a slow check: $(<"$VM_ARTIFACTS/slow-claim.out")"
grep -q "/io/vfiod/Broker1/claim/" "$VM_ARTIFACTS/slow-claim.out" || fail "uid 1006: no claim path"

# The caller vanishes while polkit thinks: nothing is granted, nothing leaks.
before=$(ls /proc/"$pid"/fd | wc -l)
grants=$(grep -c "Granted .* to uid=1006" "$VM_ARTIFACTS/vfiod.log")
claim_bus 1006 "$EDU3" 1 >/dev/null && fail "uid 1006: the claim did not wait for polkit"
wait_until 10 grep -q "Client uid=1006 .* went away with 1 polkit check(s) pending" \
	"$VM_ARTIFACTS/vfiod.log" || fail "vfiod did not drop the vanished caller's check"
vm_sleep 6 # polkit's answer arrives meanwhile, to nobody
[ "$(grep -c "Granted .* to uid=1006" "$VM_ARTIFACTS/vfiod.log")" -eq "$grants" ] ||
	fail "the vanished uid 1006 was granted a claim"
busctl --address="$VFIOD_ADDRESS" tree io.vfiod.Broker1 | grep -q "claim/" &&
	fail "a claim is left after the vanished caller"
after=$(ls /proc/"$pid"/fd | wc -l)
echo "daemon fds: $before before, $after after the vanished caller"
[ "$before" -eq "$after" ] || { ls -l /proc/"$pid"/fd; fail "fd count changed"; }
out=$(run_as 1001 1001 "$PROBE" claim "$EDU1") || fail "the next client after a vanished one: $out"

stop_polkitd
stop_vfiod || fail "vfiod did not exit cleanly"
