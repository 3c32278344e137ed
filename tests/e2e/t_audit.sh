#!/bin/sh
# The audit log end to end: a whole flow (ceremony, refused activation and
# bundle, batch with a refused approval, issuance, export, revocation, CRL,
# export of the log) yields a log that `airlock audit verify` and an
# independent Python verifier accept, whose records say who did what; each
# export carries the log since the previous one; a kill -9 during issuance
# leaves one record per certificate; the text copy is repaired after a cut
# line and set aside after an edit; a database changed behind the
# appliance's back stops the daemon; tampered copies are refused with the record
# named.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
need openssl; need python3; need zip; need sqlite3
ceremony_day
AC="$O/appliance-audit-2026.pem"
LOG="$W/state/audit.log"
CHECK="$AIRLOCK_SRC/tests/e2e/audit_check.py"
start_daemon

# verified FILE...: airlock and the independent checker both accept FILE.
verified() {
	"$AIRLOCK" audit verify "$@" --cert "$AC" >"$W/verify.out" 2>&1 ||
	    { cat "$W/verify.out"; fail "airlock audit verify $1"; }
	python3 "$CHECK" "$1" "$AC" >"$W/check.out" 2>&1 ||
	    { cat "$W/check.out"; fail "audit_check.py $1"; }
}
# records ACTION: how many records of ACTION the log holds.
records() { awk -F'\t' -v a="$1" '$1 == "R" && $7 == a' "$LOG" | wc -l; }

step "the ceremonies are in the log from airlock init on"
[ "$(records ceremony-imported)" -ge 6 ] || fail "ceremony imports are not recorded"
[ "$(records ceremony-step)" -ge 20 ] || fail "ceremony steps are not recorded"
grep -q "ceremony=appliance" "$LOG" || fail "the appliance ceremony is not named"

step "a wrong PIN is refused and recorded; activation is checkpointed"
printf 'not-the-pin\n' >"$W/wrong-pin"
chmod 600 "$W/wrong-pin"
expect_fail "." "$AIRLOCK" activate --pin "file:$W/wrong-pin"
expect_ok "$AIRLOCK" activate --pin "file:$W/pins/airlock-ca"
awk -F'\t' '$7 == "activation" && $8 == "refused"' "$LOG" | grep -q . ||
    fail "the refused activation is not recorded"
awk -F'\t' '$7 == "activation" && $8 == "ok" && $6 == "console"' "$LOG" | grep -q . ||
    fail "the activation is not recorded with the console as actor"
grep -q "^C	" "$LOG" || fail "no checkpoint after activation"
verified "$LOG"

step "a bundle refused at the door is recorded with its reason"
printf 'not a bundle\n' >"$W/media/inbox/junk.p7m"
wait_for 20 sh -c "ls '$W'/media/quarantine/junk.p7m*.reason"
awk -F'\t' '$7 == "bundle-rejected" && $9 ~ /file=junk.p7m/' "$LOG" | grep -q . ||
    fail "the rejected bundle is not recorded"

step "a batch: the same officer twice is refused, two officers approve, it is issued"
csr_bundle b 5 separate csv
submit "$W/b.cms" gateways.cms 1
# No step without its record: while the audit log refuses approvals, an
# approval is not taken at all (nothing half-recorded), then it is.
DB=$W/state/airlock.db
sqlite3 "$DB" "CREATE TRIGGER e2e_refuse BEFORE INSERT ON audit_record
    WHEN NEW.action = 'approval' AND NEW.outcome = 'ok'
    BEGIN SELECT RAISE(ABORT, 'e2e: the audit log is refusing'); END;"
expect_fail "audit log could not record the step" approve_token 1 alice
sqlite3 "$DB" "DROP TRIGGER e2e_refuse"
[ "$(sqlite3 "$DB" "SELECT count(*) FROM approval")" = 0 ] ||
    fail "an approval was kept without its audit record"
expect_ok approve_token 1 alice
expect_fail "already gave a decision" approve_token 1 alice
expect_ok approve_token 1 bob
issued 1 60
[ "$(records certificate-issued)" -eq 5 ] || fail "not one record per certificate"
awk -F'\t' '$7 == "approval" && $8 == "refused" && $5 == ""' "$LOG" >/dev/null
awk -F'\t' '$7 == "approval" && $8 == "ok" && $6 == "officer"' "$LOG" | wc -l |
    grep -qx 2 || fail "two officers' approvals are not recorded as officers'"
awk -F'\t' '$7 == "bundle-accepted" && $6 == "operator" && $9 ~ /batch=1 /' "$LOG" |
    grep -q . || fail "the operator's bundle is not recorded"

step "the export carries the log since the start and verifies on its own"
SEG1=$(ls "$X"/audit-1-*.log)
[ -f "$SEG1" ] || fail "the export carries no audit log"
grep -q "$(basename "$SEG1")" "$X/MANIFEST" || fail "the audit log is not in the MANIFEST"
verified "$SEG1"
tail -n 1 "$SEG1" | grep -q "^C	" || fail "the export's log does not end with a checkpoint"

step "a revocation and a CRL, each checkpointed; the next export follows the last"
S1=$("$AIRLOCK" batch results 1 --format csv | awk -F, 'NR == 2 {print $3}')
expect_ok "$AIRLOCK" revoke --serial "$S1" --reason keyCompromise \
    --message "key found on a test bench" --signer-key "$E/people/gina.key.pem" \
    --key-pass "file:$W/pins/gina" --signer-cert "$O/gina.pem"
for who in alice bob; do
	expect_ok "$AIRLOCK" revocation approve 1 --token "pkcs11:token=$who;object=$who-2026" \
	    --module "$MODULE" --pin "file:$W/pins/$who" --cert "$O/$who.pem"
done
wait_for 30 sh -c "'$AIRLOCK' crl list --state pending-approval | grep -q pending-approval"
CR=$("$AIRLOCK" crl list --state pending-approval | awk '$2 == "pending-approval" {print $1}' | tail -n 1)
for who in alice erin; do
	expect_ok "$AIRLOCK" crl approve "$CR" --token "pkcs11:token=$who;object=$who-2026" \
	    --module "$MODULE" --pin "file:$W/pins/$who" --cert "$O/$who.pem"
done
wait_for 30 sh -c "ls '$W'/media/outbox/crl-device-ca-*/MANIFEST"
CX=$(dirname "$(ls "$W"/media/outbox/crl-device-ca-*/MANIFEST | head -n 1)")
SEG2=$(ls "$CX"/audit-*.log)
verified "$SEG2" --follows "$SEG1"
for a in revocation-requested revocation-applied crl-issued; do
	[ "$(records $a)" -ge 1 ] || fail "no $a record"
done
awk -F'\t' '$7 == "crl-issued" && $9 ~ /ca=device-ca crl=/' "$LOG" | grep -q . ||
    fail "the CRL's number is not in the record"

step "airlock audit export writes the whole log, signed"
expect_ok "$AIRLOCK" audit export
AX=$(dirname "$(ls "$W"/media/outbox/audit-*/MANIFEST | head -n 1)")
verified "$AX/audit.log"
verified "$AX/audit.log" --follows "$SEG2"
openssl cms -verify -binary -inform DER -in "$AX/MANIFEST.p7s" -content "$AX/MANIFEST" \
    -CAfile "$O/root.pem" -certfile "$O/people-ca.pem" -purpose any -out /dev/null \
    2>"$W/verify.err" || { cat "$W/verify.err"; fail "audit export MANIFEST signature"; }
cmp -s "$AX/audit-cert.pem" "$AC" || openssl x509 -in "$AX/audit-cert.pem" -noout ||
    fail "the audit certificate is not in the export"

step "show and reports read the log: at the console and offline"
"$AIRLOCK" audit show --batch 1 --format csv >"$W/show.csv" 2>"$W/show.err" ||
    fail "audit show (daemon)"
grep -q "certificate-issued" "$W/show.csv" || fail "audit show --batch 1 lacks the issuance"
# The copy read through the daemon is named for what it is.
grep -q "the appliance's audit log is shown as it is" "$W/show.err" ||
    { cat "$W/show.err"; fail "audit show (daemon) does not name the log"; }
grep -q "airlock-audit\." "$W/show.err" && fail "audit show names its temporary copy"
# --socket names the daemon's socket, as for every daemon verb.
( unset AIRLOCK_SOCKET
  "$AIRLOCK" audit verify --socket "$W/console.sock" --cert "$AC" >"$W/vsock.out" 2>&1 ) ||
    { cat "$W/vsock.out"; fail "audit verify --socket"; }
grep -q "the appliance's audit log" "$W/vsock.out" || { cat "$W/vsock.out"; fail "audit verify --socket output"; }
( unset AIRLOCK_SOCKET
  "$AIRLOCK" audit report approvals --socket="$W/console.sock" >"$W/rsock.csv" ) ||
    fail "audit report --socket="
grep -q "Alice Example" "$W/rsock.csv" || fail "audit report --socket= lacks the approvals"
expect_fail "socket" "$AIRLOCK" audit show --socket "$W/no-such.sock"
"$AIRLOCK" audit show "$AX/audit.log" --action approval --format json >"$W/show.json"
python3 -c "import json,sys; r=json.load(open(sys.argv[1])); assert len(r) >= 4, r" \
    "$W/show.json" || fail "audit show --format json"
"$AIRLOCK" audit report approvals "$AX/audit.log" >"$W/approvals.csv"
grep -q "Alice Example" "$W/approvals.csv" || { cat "$W/approvals.csv"; fail "approvals report"; }
"$AIRLOCK" audit report issuance "$AX/audit.log" >"$W/issuance.csv"
grep -q "Frank Example.*tls-device.*,5" "$W/issuance.csv" || { cat "$W/issuance.csv"; fail "issuance report"; }
"$AIRLOCK" audit report rejections "$AX/audit.log" | grep -q "junk.p7m" || fail "rejections report"
"$AIRLOCK" audit report crls "$AX/audit.log" | grep -q "device-ca" || fail "crls report"

step "tampered copies are refused, the record named"
cp "$AX/audit.log" "$W/t1.log"
sed -i '0,/certificate-issued/s/certificate-issued/certificate-revoked/' "$W/t1.log"
expect_fail "." "$AIRLOCK" audit verify "$W/t1.log" --cert "$AC"
grep -q "record [0-9]" "$W/last.out" || fail "tampering not located: $(cat "$W/last.out")"
python3 "$CHECK" "$W/t1.log" "$AC" >/dev/null 2>&1 && fail "audit_check.py accepts a changed record"
N=$(wc -l <"$AX/audit.log")
head -n $((N - 3)) "$AX/audit.log" | grep -v "^C	.*$" >"$W/t2.log"   # tail and checkpoints cut
expect_fail "." "$AIRLOCK" audit verify "$W/t2.log" --cert "$AC"

step "kill -9 during issuance: every certificate once in the log, and it verifies"
CSR_HOST=node csr_bundle big 300 separate csv
submit "$W/big.cms" big.cms 2
expect_ok approve_token 2 alice
expect_ok approve_token 2 bob
wait_for 30 sh -c "'$AIRLOCK' batch show 2 | grep -Eq 'State: +issuing'"
crash_daemon
start_daemon
expect_ok "$AIRLOCK" activate --pin "file:$W/pins/airlock-ca"
issued 2 120
n=$(awk -F'\t' '$7 == "certificate-issued" && $9 ~ /batch=2 /' "$LOG" | wc -l)
[ "$n" -eq 300 ] || fail "batch 2 has $n certificate records, not 300"
dups=$(awk -F'\t' '$7 == "certificate-issued" {print $9}' "$LOG" | sort | uniq -d | wc -l)
[ "$dups" -eq 0 ] || fail "a certificate is recorded twice"
verified "$LOG"

step "the text copy: a cut line is completed, an edited copy is set aside"
stop_daemon
head -c -7 "$LOG" >"$W/cut" && cat "$W/cut" >"$LOG"
start_daemon
grep -q "audit-mirror" "$W/airlockd.log" || fail "the cut line was not reported"
expect_ok "$AIRLOCK" activate --pin "file:$W/pins/airlock-ca"
verified "$LOG"
stop_daemon
sed -i '3s/ceremony-step/ceremony-skip/' "$LOG"
start_daemon
ls "$LOG".mismatch-* >/dev/null 2>&1 || fail "the edited copy was not set aside"
expect_ok "$AIRLOCK" activate --pin "file:$W/pins/airlock-ca"
verified "$LOG"

step "a database changed behind the appliance's back stops the daemon, naming the record"
stop_daemon
sqlite3 "$W/state/airlock.db" "DROP TRIGGER audit_record_fixed;
    UPDATE audit_record SET details = 'nothing happened' WHERE seq = 5;"
expect_fail "audit record 5 does not match its hash" \
    "$AIRLOCK_BUILD/bin/airlockd" --config "$W/airlockd.yaml" --check
