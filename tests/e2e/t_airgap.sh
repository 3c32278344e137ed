#!/bin/sh
# The air-gap guard (airlockd(8), AIR-GAP GUARD). On the networked test
# machine: a ceremony is refused unless --dev-override-network, which the
# transcript records; with network_guard: enforce, activation is refused naming the
# interface, and recorded; with dev-override it works, loudly and
# recorded. In a namespace of its own (only lo): activation passes; an
# interface brought up afterwards stops the next batch (left approved,
# the reason shown, one refusal recorded however many passes), and once
# it is down again the batch is signed.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
need openssl; need zip; need ip; need nsenter
[ "$(id -u)" = 0 ] || skip "skipped: bringing an interface up in the daemon's namespace needs root"

# The first interface of this host that is up and not loopback
# (IFF_UP 0x1 without IFF_LOOPBACK 0x8).
IF=
for f in /sys/class/net/*/flags; do
	v=$(($(cat "$f")))
	if [ $((v & 1)) -eq 1 ] && [ $((v & 8)) -eq 0 ]; then
		IF=$(basename "$(dirname "$f")"); break
	fi
done

# records ACTION: how many audit records of ACTION the text log holds.
records() { awk -F'\t' -v a="$1" '$1 == "R" && $7 == a' "$W/state/audit.log" | wc -l; }

ceremony_day
grep -q "air-gap guard: passed" "$O/root-2026.transcript.yaml" ||
    fail "the root ceremony's transcript does not record the guard"

# The parts that need this host to be networked; a host that is not
# (a CI runner in a namespace of its own) runs the rest only.
if [ -n "$IF" ]; then
	step "a ceremony on the networked host: refused before any token, unless overridden"
	new_token zed
	sed -e 's/alice/zed/g; s/Alice Example/Zed Example/' "$E/people/alice-key.yaml" >"$W/zed-key.yaml"
	# The binary itself, not $AIRLOCK (which runs in a namespace with only lo).
	expect_fail "air-gap guard: .*$IF is up.*--dev-override-network" \
	    "$AIRLOCK_BUILD/bin/airlock" ceremony run $(pin_args zed) --out "$W/zed" "$W/zed-key.yaml"
	[ -z "$(ls -A "$W/zed" 2>/dev/null)" ] || fail "a refused ceremony wrote $(ls "$W/zed")"
	expect_ok "$AIRLOCK_BUILD/bin/airlock" ceremony run --dev-override-network $(pin_args zed) \
	    --out "$W/zed" "$W/zed-key.yaml"
	grep -q "AIR-GAP GUARD OVERRIDDEN (development only, --dev-override-network): found: .*$IF is up" \
	    "$W/last.out" || fail "the override is not said"
	grep -q "AIR-GAP GUARD OVERRIDDEN (development only" "$W/zed/zed-key-2026.transcript.yaml" ||
	    fail "the override is not in the transcript"
	expect_ok "$AIRLOCK" ceremony verify "$W/zed/zed-key-2026.transcript.yaml"

	step "enforce on the networked host: activation refused, naming $IF"
	AIRGAP_HOST=1 start_daemon
	expect_fail "air-gap guard: .*$IF is up" "$AIRLOCK" activate --pin "file:$W/pins/airlock-ca"
	grep -q "network_guard: enforce" "$W/last.out" || fail "the refusal does not name the setting"
	"$AIRLOCK" status >"$W/status"
	grep -q "^Activation:  NOT ACTIVE" "$W/status" || fail "activated on a networked host"
	grep -Eq "^Air-gap: +REFUSED since .*$IF is up" "$W/status" || { cat "$W/status"; fail "status: the refusal"; }
	[ "$(records airgap-refused)" -eq 1 ] || fail "no airgap-refused record"
	grep -q "$IF is up" "$W/state/audit.log" || fail "the record does not name $IF"
	# Each officer's attempt is recorded, not only the first.
	expect_fail "air-gap guard" "$AIRLOCK" activate --pin "file:$W/pins/airlock-ca"
	[ "$(records airgap-refused)" -eq 2 ] || fail "the second refused activation is not recorded"
	[ "$(records airgap-override)" -eq 0 ] || fail "an override under enforce"
	stop_daemon

	step "dev-override on the networked host: activation works, loudly, recorded"
	NETWORK_GUARD=dev-override AIRGAP_HOST=1 start_daemon
	expect_ok "$AIRLOCK" activate --pin "file:$W/pins/airlock-ca"
	grep -q "air-gap guard: OVERRIDDEN (development only" "$W/last.out" || { cat "$W/last.out"; fail "activation report"; }
	grep -q "AIR-GAP GUARD OVERRIDDEN (development only): activation goes on; found: .*$IF is up" \
	    "$W/airlockd.log" || fail "no loud warning on stderr"
	[ "$(records airgap-override)" -eq 1 ] || fail "no airgap-override record"
	"$AIRLOCK" status >"$W/status"
	grep -Eq "^Air-gap: +OVERRIDDEN \(development only.*$IF is up" "$W/status" || { cat "$W/status"; fail "status: the override"; }
	stop_daemon

else
	echo "note: this host has no interface up but lo: the networked-host parts are skipped"
fi

step "in a namespace with only lo: the guard passes"
start_daemon
expect_ok "$AIRLOCK" activate --pin "file:$W/pins/airlock-ca"
grep -q "air-gap guard: passed" "$W/last.out" || { cat "$W/last.out"; fail "activation report: passed"; }
n_refused=$(records airgap-refused)

step "an interface comes up after activation: the next batch waits"
# A dummy interface if the kernel has the module, else a veth pair.
# Either goes away with the namespace when the daemon stops.
if ! nsenter -t "$DAEMON_PID" -n ip link add d0 type dummy 2>/dev/null; then
	nsenter -t "$DAEMON_PID" -n ip link add d0 type veth peer name d1 ||
	    skip "skipped: this kernel makes neither a dummy nor a veth interface"
fi
nsenter -t "$DAEMON_PID" -n ip link set d0 up
wait_for 20 sh -c "'$AIRLOCK' status | grep -Eq '^Air-gap: +REFUSED since .*d0 is up'"
csr_bundle b 3 separate csv
submit "$W/b.cms" b.cms 1
expect_ok approve_token 1 alice
expect_ok approve_token 1 bob
# The worker passes every 100 ms: a second is ten passes, any of which
# would have taken the batch (issuing, then completed) without the guard.
sleep 1
batch_state 1 approved || { "$AIRLOCK" batch show 1; fail "the batch moved on a networked host"; }
"$AIRLOCK" status >"$W/status"
grep -Eq "^Worker: +signing, CRLs and exports wait: air-gap guard: d0 is up" "$W/status" ||
    { cat "$W/status"; fail "status: why the worker waits"; }
[ "$(records airgap-refused)" -eq $((n_refused + 1)) ] ||
    fail "the refusal is recorded $(records airgap-refused) times, not once per finding"
[ "$(records batch-issued)" -eq 0 ] || fail "a batch was issued"

step "the interface goes down: the batch is signed"
nsenter -t "$DAEMON_PID" -n ip link set d0 down
issued 1 60
[ "$(records airgap-cleared)" -eq 1 ] || fail "no airgap-cleared record"
"$AIRLOCK" status | grep -Eq "^Air-gap: +passed" || fail "status: passed again"
stop_daemon

step "a bad network_guard value stops the start"
sed -i 's/^network_guard: .*/network_guard: off/' "$W/airlockd.yaml"
expect_fail "network_guard is 'enforce' or 'dev-override'" \
    "$AIRLOCK_BUILD/bin/airlockd" --config "$W/airlockd.yaml" --check

echo "t_airgap: ok"
