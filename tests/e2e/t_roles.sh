#!/bin/sh
# Process roles (issue 6): airlockd runs as a parent that only watches, a
# store role (console, database, HSM helpers) and an ingest role (reads
# bundles: no database, no PKCS#11 module, nothing but its channel). An
# encrypted bundle is judged in the ingest role with the store's lookups
# and the HSM's decryption; a refused bundle is refused as before; the
# ingest role killed while idle is replaced and the next bundle accepted;
# killed while a bundle is in flight, the bundle is quarantined at stage
# ingest and audited, and the daemon keeps serving; a stop is not held up
# by a stuck ingest role, whose bundle waits in inbox/; kill -9 of the parent
# takes the store role with it at once; the store role's end stops the
# daemon.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
need openssl; need python3; need zip; need ss; need nsenter
ceremony_day
start_daemon
recipient

# fd_targets PID: where each of its descriptors points, one per line.
fd_targets() {
	for f in /proc/"$1"/fd/*; do readlink "$f"; done
}

step "three processes, each with its role"
wait_for 10 role_pid store
wait_for 10 role_pid ingest
STORE=$(role_pid store); INGEST=$(role_pid ingest)
[ "$STORE" != "$INGEST" ] || fail "one process for two roles"
tr '\0' ' ' <"/proc/$DAEMON_PID/cmdline" | grep -q -- "--role" &&
    fail "the parent runs a role"
[ "$(pgrep -P "$DAEMON_PID" | wc -l)" -eq 2 ] || fail "the parent has other children"
expect_ok "$AIRLOCK" activate --pin "file:$W/pins/airlock-ca"

step "the ingest role holds no database and no PKCS#11 module"
# The check can tell: the store holds the database, its helper the module.
fd_targets "$STORE" | grep -q "airlock.db" || fail "the store role has no database open"
helper=$(pgrep -P "$STORE" | head -n 1)
[ -n "$helper" ] && grep -q "$(basename "$MODULE")" "/proc/$helper/maps" ||
    fail "no HSM helper with the module under the store role"
fd_targets "$INGEST" | grep -q "airlock.db" && fail "the ingest role has the database open"
grep -q "$(basename "$MODULE")" "/proc/$INGEST/maps" && fail "the ingest role maps the PKCS#11 module"
grep -q "softhsm\|pkcs11" "/proc/$INGEST/maps" && fail "the ingest role maps a PKCS#11 library"
# 0, 1, 2 and its one channel to the store: no file, no network socket.
n=$(ls "/proc/$INGEST/fd" | wc -l)
[ "$n" -eq 4 ] || { fd_targets "$INGEST"; fail "the ingest role holds $n descriptors"; }
[ "$(grep -c "^NoNewPrivs:.*1" "/proc/$INGEST/status")" -eq 1 ] || fail "no_new_privs not set"

step "an encrypted pkcs12 bundle is accepted through the ingest role"
printf 'factory password 1\n' >"$W/p12pw"; chmod 600 "$W/p12pw"
expect_ok "$AIRLOCK" bundle create --profile docsis-3.1-cm --name "Encrypted" \
    --mac-range 00:11:22:00:01:00:4 --format pkcs12 --p12-password "file:$W/p12pw" \
    --encrypt-to "$O/appliance-transport-2026.pem" \
    --signer-token "pkcs11:token=dave;object=dave-2026" --module "$MODULE" \
    --pin "file:$W/pins/dave" --signer-cert "$O/dave.pem" --out "$W/enc.cms"
grep -q "encrypted to the appliance" "$W/last.out" || fail "the bundle is not encrypted"
submit "$W/enc.cms" enc.cms 1
"$AIRLOCK" batch show 1 | grep -q "00:11:22:00:01:00 .. 00:11:22:00:01:03" ||
    fail "batch 1: MAC range"

step "a refused bundle is refused as before"
printf 'not a bundle\n' >"$W/media/inbox/junk.cms"
wait_for 20 test -e "$W/media/quarantine/junk.cms.reason"
grep -q "^stage: envelope" "$W/media/quarantine/junk.cms.reason" ||
    { cat "$W/media/quarantine/junk.cms.reason"; fail "junk: stage"; }

step "the ingest role killed while idle is replaced; the next bundle is accepted"
kill -KILL "$INGEST"
wait_for 20 sh -c "p=\$(pgrep -P $DAEMON_PID -f -- '--role ingest'); [ -n \"\$p\" ] && [ \"\$p\" != $INGEST ]"
NEW=$(role_pid ingest)
grep -q "ingest role .* killed by signal 9" "$W/airlockd.log" || fail "the parent did not say why"
csr_bundle gw 2 separate csv
submit "$W/gw.cms" gw.cms 2
[ "$(role_pid store)" = "$STORE" ] || fail "the store role was restarted"

step "the ingest role killed with a bundle in flight: quarantined at stage ingest"
kill -STOP "$NEW"
CSR_HOST=gx csr_bundle gx 1 separate csv
cp "$W/gx.cms" "$W/media/inbox/gx.cms"
# The store has handed the bundle over once the stopped role's channel
# holds unread bytes. Unix sockets are listed per network namespace, and
# the daemon runs in its own (tools/offline.sh): look from inside it.
in_flight() {
	nsenter -t "$NEW" -n ss -x -p 2>/dev/null | grep "pid=$NEW," |
	    awk '$3 > 0 {f=1} END {exit !f}'
}
wait_for 20 in_flight
kill -KILL "$NEW"
wait_for 20 test -e "$W/media/quarantine/gx.cms.reason"
R="$W/media/quarantine/gx.cms.reason"
grep -q "^stage: ingest" "$R" || { cat "$R"; fail "gx: stage"; }
grep -q "the ingest role ended while reading this bundle (killed by signal 9" "$R" ||
    { cat "$R"; fail "gx: reason"; }
[ -e "$W/media/quarantine/gx.cms" ] || fail "gx not moved to quarantine/"
"$AIRLOCK" audit show >"$W/audit.txt" 2>&1 || true
grep -q "ingest role ended while reading" "$W/audit.txt" ||
    { tail -n 20 "$W/audit.txt"; fail "the refusal is not in the audit log"; }
CSR_HOST=gy csr_bundle gy 1 separate csv
submit "$W/gy.cms" gy.cms 3
"$AIRLOCK" status >"$W/status.txt" || fail "the daemon no longer serves"
grep -q "NOT ACTIVE" "$W/status.txt" && fail "the daemon was deactivated"

step "SIGTERM stops all three cleanly, even with a stuck ingest role"
# The ingest role hangs (stopped) with a bundle in flight: the stop must
# not wait for it, and the bundle, never judged, stays in inbox/ for the
# next start instead of being quarantined.
INGEST=$(role_pid ingest); STORE=$(role_pid store)
NEW=$INGEST
kill -STOP "$INGEST"
CSR_HOST=gz csr_bundle gz 1 separate csv
cp "$W/gz.cms" "$W/media/inbox/gz.cms"
wait_for 20 in_flight
stop_daemon
! kill -0 "$STORE" 2>/dev/null || fail "the store role outlived the parent"
! kill -0 "$INGEST" 2>/dev/null || fail "the ingest role outlived the parent"
grep -q "daemon-stop" "$W/airlockd.log" || fail "the store role did not stop cleanly"
[ -e "$W/media/inbox/gz.cms" ] || fail "gz left the inbox at the stop"
[ ! -e "$W/media/quarantine/gz.cms.reason" ] || fail "gz was quarantined at the stop"

step "kill -9 of the parent takes the store role with it"
start_daemon
wait_for 10 role_pid store
expect_ok "$AIRLOCK" activate --pin "file:$W/pins/airlock-ca"
wait_for 20 batch_state 4 pending-approval
STORE=$(role_pid store); INGEST=$(role_pid ingest)
kill -9 "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null || true
wait_for 10 sh -c "! kill -0 $STORE 2>/dev/null"
wait_for 10 sh -c "! kill -0 $INGEST 2>/dev/null"

step "the store role ends: the parent stops the ingest role and exits non-zero"
rm -f "$W/console.sock"   # left behind by the kill
start_daemon
wait_for 10 role_pid ingest
STORE=$(role_pid store); INGEST=$(role_pid ingest)
kill -9 "$STORE"
rc=0; wait "$DAEMON_PID" || rc=$?
[ "$rc" -ne 0 ] || fail "the parent exited 0 after its store role died"
! kill -0 "$INGEST" 2>/dev/null || fail "the ingest role outlived the store role"
grep -q "the store role killed by signal 9" "$W/airlockd.log" || fail "the parent did not say why it stops"
echo "t_roles: ok"
