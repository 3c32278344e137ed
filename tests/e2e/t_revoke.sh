#!/bin/sh
# Revocation and CRLs end to end: a CSR batch is issued; a revocation made
# at the console and one carried on the medium, each approved by two
# officers (never the requester); the CRL requests that follow, approved
# and signed in SoftHSM; CRLs on the medium checked with openssl (crl
# -verify, verify -crl_check), certtool and Python cryptography; a hold
# released; the CRL number rising across a restart and across a kill -9
# between approval and signing; the inventory and reports.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
need openssl; need certtool; need python3; need zip
ceremony_day
start_daemon
expect_ok "$AIRLOCK" activate --pin "file:$W/pins/airlock-ca"

# crl_decide VERB ID NAME: NAME (alice, bob, erin) approves or rejects CRL request ID.
crl_decide() {
	"$AIRLOCK" crl "$1" "$2" --token "pkcs11:token=$3;object=$3-2026" \
	    --module "$MODULE" --pin "file:$W/pins/$3" --cert "$O/$3.pem"
}
# crl_state ID STATE: CRL request ID is in STATE.
crl_state() {
	"$AIRLOCK" crl show "$1" | grep -q "^CRL request #$1: $2"
}
# latest_crl NUMBER: outbox/ holds device-ca CRL NUMBER, complete (its
# MANIFEST, written last, is there); prints its directory.
latest_crl() {
	[ -f "$W/media/outbox/crl-device-ca-$1/MANIFEST" ] || return 1
	ls -d "$W"/media/outbox/crl-device-ca-"$1" 2>/dev/null | head -n 1
}

step "a CSR batch of four certificates (frank's key file, stock zip + openssl cms)"
csr_bundle b 4 separate csv
submit "$W/b.cms" gateways.cms 1
expect_ok approve_token 1 alice
expect_ok approve_token 1 bob
issued 1 60
"$AIRLOCK" batch results 1 --format csv --out "$W/r1.csv"
serial() { awk -F, -v n="$1" 'NR == n + 1 {print $3}' "$W/r1.csv"; }
S1=$(serial 1); S2=$(serial 2); S3=$(serial 3); S4=$(serial 4)
[ -n "$S4" ] || { cat "$W/r1.csv"; fail "no serials in the results"; }

step "a routine CRL: requested at the console, two approvals, signed, exported"
expect_ok "$AIRLOCK" crl request --ca device-ca
grep -q "CRL request #1 for CA device-ca" "$W/last.out" || fail "crl request"
"$AIRLOCK" crl show 1 >"$W/crl1.show"
grep -q "New CRL holds:  0 entries" "$W/crl1.show" || { cat "$W/crl1.show"; fail "crl show: entries"; }
grep -q "Valid for:      30 days" "$W/crl1.show" || fail "crl show: the CA's policy"
expect_ok crl_decide approve 1 alice
crl_state 1 pending-approval || fail "one approval issued a CRL"
expect_fail "already gave a decision" crl_decide approve 1 alice
expect_ok crl_decide approve 1 erin
wait_for 30 crl_state 1 issued
wait_for 30 latest_crl 1
C1=$(latest_crl 1)
for f in device-ca-1.crl device-ca-1.pem device-ca-latest.crl device-ca-latest.pem MANIFEST MANIFEST.p7s; do
	[ -f "$C1/$f" ] || fail "CRL export lacks $f"
done
openssl crl -inform DER -in "$C1/device-ca-1.crl" -CAfile "$O/device-ca.pem" -noout \
    2>"$W/crl.err" || { cat "$W/crl.err"; fail "openssl crl -verify (empty CRL)"; }
openssl crl -inform DER -in "$C1/device-ca-1.crl" -CAfile "$O/device-ca.pem" -noout -verify \
    2>&1 | grep -q "verify OK" || fail "empty CRL does not verify"
openssl cms -verify -binary -inform DER -in "$C1/MANIFEST.p7s" -content "$C1/MANIFEST" \
    -CAfile "$O/root.pem" -certfile "$O/people-ca.pem" -purpose any -out /dev/null \
    2>"$W/verify.err" || { cat "$W/verify.err"; fail "CRL MANIFEST signature"; }
"$AIRLOCK" status | grep -q "device-ca: CRL 1, 0 entries" || fail "status: CRL number"

step "the CRL number rises across a restart"
stop_daemon
start_daemon
expect_ok "$AIRLOCK" activate --pin "file:$W/pins/airlock-ca"
expect_ok "$AIRLOCK" crl request --ca device-ca
expect_ok crl_decide approve 2 alice
expect_ok crl_decide approve 2 bob
wait_for 30 crl_state 2 issued
"$AIRLOCK" crl show 2 | grep -q "Issued:         number 2" || fail "second CRL is number 2"

step "kill -9 between approval and signing: the number is never reused"
expect_ok "$AIRLOCK" deactivate
expect_ok "$AIRLOCK" crl request --ca device-ca
expect_ok crl_decide approve 3 alice
expect_ok crl_decide approve 3 bob
crl_state 3 approved || fail "approved while deactivated"
crash_daemon
start_daemon
expect_ok "$AIRLOCK" activate --pin "file:$W/pins/airlock-ca"
wait_for 30 crl_state 3 issued
"$AIRLOCK" crl show 3 | grep -q "Issued:         number 3" || fail "resumed CRL is number 3"
wait_for 30 latest_crl 3

# rev_decide VERB ID NAME: NAME (alice, bob, erin) decides revocation ID.
rev_decide() {
	v=$1; id=$2; who=$3; shift 3
	"$AIRLOCK" revocation "$v" "$id" "$@" --token "pkcs11:token=$who;object=$who-2026" \
	    --module "$MODULE" --pin "file:$W/pins/$who" --cert "$O/$who.pem"
}
rev_state() {
	"$AIRLOCK" revocation show "$1" | grep -Eq "(State|state).*$2"
}
# gina_revoke ARGS...: gina (an officer, key file) asks for a revocation at the console.
gina_revoke() {
	"$AIRLOCK" revoke "$@" --signer-key "$E/people/gina.key.pem" \
	    --key-pass "file:$W/pins/gina" --signer-cert "$O/gina.pem"
}
# open_crl: the CRL request the worker opened; prints its id.
open_crl() {
	"$AIRLOCK" crl list --state pending-approval | awk '$1 ~ /^[0-9]+$/ && $2 == "pending-approval" {print $1}' | tail -n 1
}

# opened_crl: waits for the CRL request an applied revocation opened; sets R.
opened_crl() {
	wait_for 30 sh -c "[ -n \"\$('$AIRLOCK' crl list --state pending-approval | awk '\$2 == \"pending-approval\"')\" ]"
	R=$(open_crl)
}

# publish_crl: has alice and bob approve CRL request R, waits for the CRL
# on the medium; sets N.
publish_crl() {
	expect_ok crl_decide approve "$R" alice
	expect_ok crl_decide approve "$R" bob
	wait_for 30 crl_state "$R" issued
	N=$("$AIRLOCK" crl show "$R" | awk '/Issued:/ {print $NF}')
	wait_for 30 latest_crl "$N"
}

step "unknown serials and a bad reason are reported line by line, nothing kept"
expect_fail "serial 123456789abcdef: no device certificate" gina_revoke --serial 123456789abcdef,$S1 \
    --serial 0abc --reason keyCompromise --message "typo"
grep -q "serial abc" "$W/last.out" || fail "the second unknown serial is reported too"
expect_fail "reason" gina_revoke --serial "$S1" --reason stolen --message "x"
"$AIRLOCK" revocation list | grep -q "No revocation" || fail "a refused request was kept"

step "a revocation at the console: two officers, never the requester"
expect_ok gina_revoke --serial "$S1" --reason keyCompromise --message "key leaked at the plant" \
    --invalidity-date 2026-11-01T00:00:00Z
"$AIRLOCK" revocation show 1 >"$W/rev1.show"
grep -q "$S1" "$W/rev1.show" || { cat "$W/rev1.show"; fail "revocation show: serial"; }
grep -q "keyCompromise" "$W/rev1.show" || fail "revocation show: reason"
expect_fail "may not approve" "$AIRLOCK" revocation approve 1 --key "$E/people/gina.key.pem" \
    --key-pass "file:$W/pins/gina" --cert "$O/gina.pem"
expect_ok rev_decide approve 1 alice
"$AIRLOCK" cert show "$S1" | grep -qi "valid" || fail "one approval revoked it"
expect_ok rev_decide approve 1 bob
wait_for 30 sh -c "'$AIRLOCK' cert show '$S1' | grep -qi revoked"
opened_crl
"$AIRLOCK" crl show "$R" | grep -q "Cause:          revocation #1" || fail "the CRL request names the revocation"
"$AIRLOCK" crl show "$R" | grep -q "New CRL holds:  1 entry" || fail "crl show: one entry"
publish_crl
[ "$N" -ge 4 ] || fail "CRL number $N after numbers 1..3"
C=$(latest_crl "$N")

step "the CRL, checked by openssl, certtool and Python cryptography"
openssl crl -inform DER -in "$C/device-ca-$N.crl" -CAfile "$O/device-ca.pem" -noout -verify \
    2>&1 | grep -q "verify OK" || fail "openssl crl -verify"
cmp "$C/device-ca-$N.crl" "$C/device-ca-latest.crl" || fail "latest copy differs"
certtool --crl-info --inder --infile "$C/device-ca-$N.crl" >"$W/crlinfo" 2>&1 ||
    { cat "$W/crlinfo"; fail "certtool --crl-info"; }
grep -qi "$S1" "$W/crlinfo" || { cat "$W/crlinfo"; fail "certtool does not list the serial"; }
"$AIRLOCK" cert show "$S1" --pem >"$W/c1.out"
sed -n '/BEGIN CERTIFICATE/,/END CERTIFICATE/p' "$W/c1.out" >"$W/c1.pem"
"$AIRLOCK" cert show "$S2" --pem >"$W/c2.out"
sed -n '/BEGIN CERTIFICATE/,/END CERTIFICATE/p' "$W/c2.out" >"$W/c2.pem"
cat "$O/root.pem" "$O/device-ca.pem" >"$W/cas.pem"
openssl crl -inform DER -in "$C/device-ca-$N.crl" -out "$W/crl.pem"
openssl verify -crl_check -CAfile "$W/cas.pem" -CRLfile "$W/crl.pem" "$W/c1.pem" >"$W/v1" 2>&1 &&
    fail "the revoked certificate still verifies"
grep -q "certificate revoked" "$W/v1" || { cat "$W/v1"; fail "openssl: not reported revoked"; }
openssl verify -crl_check -CAfile "$W/cas.pem" -CRLfile "$W/crl.pem" "$W/c2.pem" >/dev/null 2>&1 ||
    fail "a good certificate fails the CRL check"
python3 - "$C/device-ca-$N.crl" "$S1" "$N" <<'PY'
import datetime, sys
from cryptography import x509
crl = x509.load_der_x509_crl(open(sys.argv[1], "rb").read())
r = crl.get_revoked_certificate_by_serial_number(int(sys.argv[2], 16))
assert r is not None, "serial not on the CRL"
assert r.extensions.get_extension_for_class(x509.CRLReason).value.reason == x509.ReasonFlags.key_compromise
inv = r.extensions.get_extension_for_class(x509.InvalidityDate).value.invalidity_date
assert inv.replace(tzinfo=None) == datetime.datetime(2026, 11, 1), inv
assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == int(sys.argv[3])
# The shipped policy names no issuing distribution point (crl.yaml says why).
assert not [e for e in crl.extensions if isinstance(e.value, x509.IssuingDistributionPoint)]
print("CRL ok:", len(list(crl)), "entries")
PY

step "hold, then release, carried on the medium as a revocation bundle (frank)"
expect_ok "$AIRLOCK" revoke --serial "$S3" --reason certificateHold --message "device returned for checks" \
    --signer-key "$E/people/frank.key.pem" --key-pass "file:$W/pins/frank" \
    --signer-cert "$O/frank.pem" --out "$W/hold.cms"
cp "$W/hold.cms" "$W/media/inbox/hold.cms"
wait_for 20 rev_state 2 pending-approval
expect_ok rev_decide approve 2 alice
expect_ok rev_decide approve 2 erin
wait_for 30 sh -c "'$AIRLOCK' cert show '$S3' | grep -qi hold"
opened_crl
publish_crl
python3 - "$(latest_crl "$N")/device-ca-$N.crl" "$S3" <<'PY'
import sys
from cryptography import x509
crl = x509.load_der_x509_crl(open(sys.argv[1], "rb").read())
r = crl.get_revoked_certificate_by_serial_number(int(sys.argv[2], 16))
assert r.extensions.get_extension_for_class(x509.CRLReason).value.reason == x509.ReasonFlags.certificate_hold
assert len(list(crl)) == 2
PY
expect_fail "not on hold" gina_revoke --serial "$S2" --reason removeFromCRL --message "not held"
expect_ok gina_revoke --serial "$S3" --reason removeFromCRL --message "checks passed"
expect_ok rev_decide approve 3 alice
expect_ok rev_decide approve 3 bob
wait_for 30 sh -c "'$AIRLOCK' cert show '$S3' | grep -Eq 'Status: +valid'"
opened_crl
publish_crl
python3 - "$(latest_crl "$N")/device-ca-$N.crl" "$S3" <<'PY'
import sys
from cryptography import x509
crl = x509.load_der_x509_crl(open(sys.argv[1], "rb").read())
assert crl.get_revoked_certificate_by_serial_number(int(sys.argv[2], 16)) is None
assert len(list(crl)) == 1
PY

step "a revocation bundle naming an unknown serial is quarantined with its line"
expect_ok "$AIRLOCK" revoke --serial 7777777777777777 --reason superseded --message "wrong" \
    --signer-key "$E/people/frank.key.pem" --key-pass "file:$W/pins/frank" \
    --signer-cert "$O/frank.pem" --out "$W/bad.cms"
cp "$W/bad.cms" "$W/media/inbox/bad.cms"
wait_for 20 sh -c "ls '$W'/media/quarantine/bad.cms.reason"
grep -q "Line 8 - serial 7777777777777777: no device certificate" "$W/media/quarantine/bad.cms.reason" ||
    { cat "$W/media/quarantine/bad.cms.reason"; fail "reason file"; }

step "batch revoke, the inventory and reports"
expect_ok "$AIRLOCK" batch revoke 1 --reason superseded --message "batch made in error" \
    --signer-key "$E/people/gina.key.pem" --key-pass "file:$W/pins/gina" --signer-cert "$O/gina.pem"
"$AIRLOCK" revocation show 4 | grep -q "$S4" || fail "batch revoke names the batch's certificates"
"$AIRLOCK" revocation show 4 | grep -q "$S1" && fail "batch revoke names a revoked certificate"
expect_ok rev_decide reject 4 alice --reason "wrong batch"
wait_for 10 rev_state 4 rejected
"$AIRLOCK" cert list --status revoked --format csv >"$W/revoked.csv"
grep -q "$S1" "$W/revoked.csv" || { cat "$W/revoked.csv"; fail "cert list --status revoked"; }
grep -q "$S2" "$W/revoked.csv" && fail "a valid certificate listed as revoked"
"$AIRLOCK" cert show "$S1" >"$W/hist"
for w in requested issued revoked "Alice Example" "Bob Example" keyCompromise; do
	grep -q "$w" "$W/hist" || { cat "$W/hist"; fail "history lacks $w"; }
done
"$AIRLOCK" cert list --batch 1 --format json | python3 -c '
import json, sys
rows = json.load(sys.stdin)
assert len(rows) == 4, rows'
expect_ok "$AIRLOCK" report algorithms
grep -q "EC P-256" "$W/last.out" || fail "report: key algorithms"
expect_ok "$AIRLOCK" report expiring --days 400
expect_ok "$AIRLOCK" report issuance
grep -q "tls-device" "$W/last.out" || fail "report: issuance per profile"
