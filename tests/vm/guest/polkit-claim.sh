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

cat >/etc/polkit-1/rules.d/10-vfiod-test.rules <<'RULES'
polkit.addRule(function(action, subject) {
	if (action.id != "io.vfiod.claim-device")
		return polkit.Result.NOT_HANDLED;
	if (subject.user == "user1003" && action.lookup("vendor") == "1234" &&
	    action.lookup("iommu-group") != "")
		return polkit.Result.YES;
	if (subject.user == "user1004")
		return polkit.Result.NO;
	if (subject.user == "user1006") {
		polkit.spawn(["sleep", "3"]);
		return polkit.Result.YES;
	}
	return polkit.Result.NOT_HANDLED;
});
RULES
chmod 0644 /etc/polkit-1/rules.d/10-vfiod-test.rules
for u in 1003 1004 1005 1006; do getent passwd "$u" >/dev/null || add_user "user$u" "$u" "$u"; done
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
[ "$took" -lt 5000 ] || fail "denial took $took ms"
grep -q "PermissionDenied" <<<"$out" || fail "no rule: expected PermissionDenied, got: $out"

# A socket client is decided by the static policy alone, polkit rule or not.
out=$(run_as 1003 1003 "$PROBE" claim "$EDU3") && fail "socket uid 1003 got $EDU3: $out"
grep -q "No rule in the vfiod policy" <<<"$out" || fail "socket: expected the policy's no: $out"

# The caller vanishes while polkit thinks (the rule sleeps 3 s): nothing is
# granted, nothing leaks, and a socket client is served meanwhile.
before=$(ls /proc/"$pid"/fd | wc -l)
claim_bus 1006 "$EDU3" 1 >/dev/null && fail "uid 1006: the claim did not wait for polkit"
start=${EPOCHREALTIME/./}
out=$(run_as 1001 1001 "$PROBE" claim "$EDU1") || fail "socket claim during a pending check: $out"
took=$(((${EPOCHREALTIME/./} - start) / 1000))
echo "socket claim while a polkit check was pending: $took ms"
[ "$took" -lt 1500 ] || fail "the socket client waited $took ms for the pending check"
vm_sleep 4
grep -q "Granted 0000:00:0.\.. to uid=1006" "$VM_ARTIFACTS/vfiod.log" && fail "uid 1006 got a claim"
busctl --address="$VFIOD_ADDRESS" tree io.vfiod.Broker1 | grep -q "claim/" &&
	fail "a claim is left after the vanished caller"
after=$(ls /proc/"$pid"/fd | wc -l)
echo "daemon fds: $before before, $after after the vanished caller"
[ "$before" -eq "$after" ] || { ls -l /proc/"$pid"/fd; fail "fd count changed"; }

stop_polkitd
stop_vfiod || fail "vfiod did not exit cleanly"
