#!/bin/sh
# Lock-outs against a running airlockd: wrong PINs at activation lock the
# CA token out, after which even the right PIN is refused before any
# login, until two officers clear it (one alone does not); an officer
# whose approval statements fail to verify is locked (their good approval
# is then refused, their own clearing vote too) until two others clear
# it; an operator locked the same way has their bundles refused. Every
# step is in the audit log.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
need openssl; need python3; need zip; need sqlite3
python3 -c 'import cryptography' 2>/dev/null || skip "skipped: python3-cryptography is not installed"
ceremony_day
AIRLOCKD_YAML_EXTRA="lockout:
  login_failures: 3
  approval_failures: 3"
start_daemon
DB=$W/state/airlock.db
printf 'not-the-pin\n' >"$W/pins/wrong"; chmod 600 "$W/pins/wrong"
activate() { "$AIRLOCK" activate --pin "file:$W/pins/$1"; }
# lockout_approve ID NAME: NAME (alice, bob, erin: a token; gina: a key file)
# approves clearing lock-out ID.
lockout_approve() {
	if [ "$2" = gina ]; then
		"$AIRLOCK" lockout approve "$1" --key "$E/people/gina.key.pem" \
		    --key-pass "file:$W/pins/gina" --cert "$O/gina.pem"
	else
		"$AIRLOCK" lockout approve "$1" --token "pkcs11:token=$2;object=$2-2026" \
		    --module "$MODULE" --pin "file:$W/pins/$2" --cert "$O/$2.pem"
	fi
}
# records ACTION [OUTCOME]: how many audit records of ACTION there are.
records() {
	sqlite3 "$DB" "SELECT count(*) FROM audit_record WHERE action = '$1'${2:+ AND outcome = '$2'}"
}
count() {
	sqlite3 "$DB" "SELECT coalesce((SELECT failures FROM credential_failure WHERE kind = '$1' AND credential = '$2'), 0)"
}

step "the configuration refuses a limit below 1"
sed 's/^  login_failures: 3/  login_failures: 0/' "$W/airlockd.yaml" >"$W/bad.yaml"
expect_fail "login_failures" "$AIRLOCK_BUILD/bin/airlockd" --config "$W/bad.yaml" --check

step "wrong PINs are counted; the third locks the CA token out"
expect_fail "wrong PIN .*failed login 1;" activate wrong
expect_fail "failed login 2;" activate wrong
[ "$(count token airlock-ca)" = 2 ] || fail "two wrong PINs not counted"
# A success resets the count.
expect_ok activate airlock-ca
[ "$(count token airlock-ca)" = 0 ] || fail "a good login did not reset the count"
expect_ok "$AIRLOCK" deactivate
expect_fail "failed login 1;" activate wrong
expect_fail "failed login 2;" activate wrong
expect_fail "failed login 3 of 3, so the CA token is now locked out \(lock-out #1\)" activate wrong
[ "$(records login-failed refused)" = 5 ] || fail "not one login-failed record per wrong PIN"
[ "$(records lockout ok)" = 1 ] || fail "the lock-out is not recorded"

step "while locked out, the right PIN is refused before any login"
expect_fail "locked out since .* after 3 failed logins \(lock-out #1\).*airlock lockout approve 1" activate airlock-ca
expect_fail "locked out since" activate wrong
[ "$(count token airlock-ca)" = 3 ] || fail "a login was tried while locked out"
[ "$(records login-failed)" = 5 ] || fail "a login was tried while locked out"
"$AIRLOCK" status >"$W/status.out"
grep -q "NOT ACTIVE" "$W/status.out" || fail "activated while locked out"
grep -q "Lock-outs: *the CA token (no activation) locked out" "$W/status.out" ||
    { cat "$W/status.out"; fail "status does not show the lock-out"; }
expect_ok "$AIRLOCK" lockout list
grep -Eq '^1 +locked +token +3 ' "$W/last.out" || { cat "$W/last.out"; fail "lockout list"; }
expect_ok "$AIRLOCK" lockout show 1
grep -q "CA token 'airlock-ca'" "$W/last.out" || fail "lockout show"

step "one officer does not clear it; the same officer twice counts once"
expect_ok lockout_approve 1 alice
grep -q "1 more needed" "$W/last.out" || { cat "$W/last.out"; fail "first approval"; }
expect_fail "already gave a decision" lockout_approve 1 alice
expect_fail "locked out since" activate airlock-ca

step "a second officer clears it; activation works again"
expect_ok lockout_approve 1 bob
grep -q "cleared" "$W/last.out" || { cat "$W/last.out"; fail "second approval"; }
expect_fail "nothing to decide" lockout_approve 1 erin
expect_ok activate airlock-ca
[ "$(records lockout-cleared ok)" = 1 ] || fail "the clearing is not recorded"

step "a failure and its record are kept together, or neither"
expect_ok "$AIRLOCK" deactivate
sqlite3 "$DB" "CREATE TRIGGER e2e_refuse BEFORE INSERT ON audit_record
    WHEN NEW.action = 'login-failed'
    BEGIN SELECT RAISE(ABORT, 'e2e: the audit log is refusing'); END;"
expect_fail "wrong PIN .*could not be counted" activate wrong
sqlite3 "$DB" "DROP TRIGGER e2e_refuse"
[ "$(count token airlock-ca)" = 0 ] || fail "a failure was counted without its record"
[ "$(records login-failed)" = 5 ] || fail "a login-failed record without its count"
expect_ok activate airlock-ca

step "an officer's failed approvals lock them out"
csr_bundle b 2 separate csv
submit "$W/b.cms" gateways.cms 1
BAD=$(printf 'ab%.0s' $(seq 32))
raw_approval gina batch 1 "$BAD" >"$W/raw.out" 2>&1 || true
grep -q "failed approval 1 of Gina Example" "$W/raw.out" || { cat "$W/raw.out"; fail "gina failure 1"; }
GOOD=$("$AIRLOCK" batch show 1 | awk '/Bundle digest:/ {print $3}')
raw_approval gina batch 1 "$GOOD" badsig >"$W/raw.out" 2>&1 || true
grep -q "failed approval 2 of Gina Example" "$W/raw.out" || { cat "$W/raw.out"; fail "gina failure 2 (bad signature)"; }
raw_approval gina batch 1 "$BAD" >"$W/raw.out" 2>&1 || true
grep -q "now locked out (lock-out #2)" "$W/raw.out" || { cat "$W/raw.out"; fail "gina not locked"; }
[ "$(sqlite3 "$DB" "SELECT status FROM person WHERE name = 'Gina Example'")" = locked ] ||
    fail "gina's status is not locked"
[ "$(records approval-failed refused)" = 3 ] || fail "not one approval-failed record per failure"

step "a locked officer's good approval is refused, and their own clearing vote"
expect_fail "Gina Example is locked out since .*lock-out #2" "$AIRLOCK" batch approve 1 \
    --key "$E/people/gina.key.pem" --key-pass "file:$W/pins/gina" --cert "$O/gina.pem"
expect_fail "Gina Example is locked out" lockout_approve 2 gina
[ "$(sqlite3 "$DB" "SELECT count(*) FROM approval WHERE officer_sha256 = (SELECT sha256 FROM person WHERE name = 'Gina Example')")" = 0 ] ||
    fail "a locked officer's approval was recorded"
batch_state 1 pending-approval || fail "batch 1 changed state"

step "an operator locked the same way has their bundles refused"
for i in 1 2 3; do raw_approval frank batch 1 "$GOOD" >"$W/raw.out" 2>&1 || true; done
grep -q "now locked out (lock-out #3)" "$W/raw.out" || { cat "$W/raw.out"; fail "frank not locked"; }
CSR_HOST=late csr_bundle late 1 separate csv
cp "$W/late.cms" "$W/media/inbox/late.cms"
wait_for 20 test -f "$W/media/quarantine/late.cms.reason"
grep -q "locked out" "$W/media/quarantine/late.cms.reason" ||
    { cat "$W/media/quarantine/late.cms.reason"; fail "a locked operator's bundle not refused for it"; }

step "two other officers clear the officer; their approvals count again"
expect_ok lockout_approve 2 alice
expect_fail "locked out" "$AIRLOCK" batch approve 1 \
    --key "$E/people/gina.key.pem" --key-pass "file:$W/pins/gina" --cert "$O/gina.pem"
expect_ok lockout_approve 2 erin
[ "$(sqlite3 "$DB" "SELECT status FROM person WHERE name = 'Gina Example'")" = active ] ||
    fail "gina is not active again"
[ "$(count person "$(sqlite3 "$DB" "SELECT sha256 FROM person WHERE name = 'Gina Example'")")" = 0 ] ||
    fail "gina's count was not reset"
expect_ok "$AIRLOCK" batch approve 1 \
    --key "$E/people/gina.key.pem" --key-pass "file:$W/pins/gina" --cert "$O/gina.pem"
expect_ok "$AIRLOCK" lockout list --state locked
grep -Eq '^3 +locked +person' "$W/last.out" || { cat "$W/last.out"; fail "frank's lock-out not listed"; }
grep -Eq '^2 ' "$W/last.out" && fail "a cleared lock-out listed as locked"

step "every step is in the audit log, and the log verifies"
[ "$(records lockout ok)" = 3 ] || fail "three lock-outs, not $(records lockout ok)"
[ "$(records lockout-cleared ok)" = 2 ] || fail "two clearings"
[ "$(sqlite3 "$DB" "SELECT count(*) FROM audit_record WHERE action = 'approval' AND outcome = 'ok' AND objects LIKE 'lockout=%'")" = 4 ] ||
    fail "the clearing approvals are not recorded"
sqlite3 "$DB" "SELECT objects FROM audit_record WHERE action = 'lockout'" | grep -q "^lockout=1 token=airlock-ca failures=3$" ||
    fail "the token's lock-out record lacks its credential and count"
sqlite3 "$DB" "SELECT objects FROM audit_record WHERE action = 'login-failed'" | grep -q "token=airlock-ca failures=3 limit=3" ||
    fail "login-failed lacks the count"
"$AIRLOCK" audit show --action approval-failed >"$W/show.out" || fail "audit show"
grep -c "approval-failed" "$W/show.out" | grep -qx 6 || { cat "$W/show.out"; fail "audit show approval-failed"; }
expect_ok "$AIRLOCK" audit verify --cert "$O/appliance-audit-2026.pem"
stop_daemon
echo "lockout scenario passed"
