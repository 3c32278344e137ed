#!/bin/sh
# M-of-N activation end to end: the RSA ceremony day with three more
# officers with key files (daemon.sh), then a split-pin ceremony (2-of-3)
# that sets a new random PIN on the CA token (one share stored on an
# officer's token, the others in files); the share files open with
# stock openssl; airlockd in split-pin mode refuses a PIN, takes one share
# (not active yet), refuses the same share again and a share presented by
# an operator, activates at the second officer's share and signs a batch;
# after a restart the shares are needed again, and a cancel wipes what was
# presented. The audit log holds every step.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
need openssl; need python3; need zip; need pkcs11-tool; need sqlite3

# Gina (P-256), Hana (RSA: shares reach RSA officers by key transport) and
# Ivan hold the shares; Frank is an operator.
ENROL_MORE="hana:officer:rsa ivan:officer"
ceremony_people
# The HSM, the witnesses and the people CA as in the enrolment.
{
	printf 'airlock_ceremony: 1\nname: split-pin-2026\ntype: split-pin\n'
	sed -n '/^hsm:/,/^  key: people-ca-2026$/p' "$E/rsa/07-enrol-extra.yaml"
	printf 'split:\n  threshold: 2\n  pin_length: 40\n'
	# Alice's share is stored on her own token, not in a file.
	printf '  officers: [gina.pem, hana.pem, ivan.pem, '
	printf '{certificate: alice.pem, token: "pkcs11:token=alice"}]\n'
} >"$E/rsa/08-split-pin.yaml"

step "a split-pin script with M > N, or a non-officer, is refused"
sed 's/threshold: 2/threshold: 5/' "$E/rsa/08-split-pin.yaml" >"$W/bad-m.yaml"
expect_fail "threshold 5 is more than the 4 officers" "$AIRLOCK" ceremony check "$W/bad-m.yaml"
sed 's/officers: \[.*\]$/officers: [gina.pem]/' \
    "$E/rsa/08-split-pin.yaml" >"$W/bad-n.yaml"
expect_fail "2 to 16 officers" "$AIRLOCK" ceremony check "$W/bad-n.yaml"

step "the split-pin ceremony"
# The operator is no officer: the split refuses him before any change.
sed 's/officers: \[.*\]$/officers: [gina.pem, frank.pem]/' \
    "$E/rsa/08-split-pin.yaml" >"$E/rsa/bad-officer.yaml"
# shellcheck disable=SC2086
expect_fail "officer" "$AIRLOCK" ceremony run $PINS --out "$O" "$E/rsa/bad-officer.yaml"
ls "$O"/split-pin-2026-share-* 2>/dev/null && fail "a refused split left share files"
# A rehearsal changes a throwaway token and writes nothing here.
# shellcheck disable=SC2086
expect_ok "$AIRLOCK" ceremony run --rehearse $PINS --out "$O" "$E/rsa/08-split-pin.yaml"
grep -q "split-pin-2026-share-2-hana.p7m" "$W/last.out" || fail "rehearsal: share files"
ls "$O"/split-pin-2026-share-* 2>/dev/null && fail "a rehearsal wrote share files"
# shellcheck disable=SC2086
expect_ok "$AIRLOCK" ceremony run $PINS --out "$O" "$E/rsa/08-split-pin.yaml"
grep -q "split it 2-of-4" "$W/last.out" || fail "the split is not reported"
grep -q "stored share 4 for alice.pem on their token" "$W/last.out" || fail "alice's share"
for f in 1-gina 2-hana 3-ivan; do
	[ "$(stat -c %a "$O/split-pin-2026-share-$f.p7m")" = 600 ] || fail "share $f is not 0600"
done

step "the old PIN no longer logs in"
pkcs11-tool --module "$MODULE" --token-label airlock-ca --login \
    --pin "$(cat "$W/pins/airlock-ca")" --list-objects >/dev/null 2>&1 &&
    fail "the old PIN still works"

step "each share file opens with stock openssl and its officer's key only"
for f in 1-gina 2-hana 3-ivan; do
	who=${f#*-}; idx=${f%%-*}
	openssl cms -decrypt -inform DER -in "$O/split-pin-2026-share-$f.p7m" \
	    -inkey "$E/people/$who.key.pem" -passin "file:$W/pins/$who" \
	    -out "$W/rec-$who.txt" || fail "share $f does not open with openssl"
	grep -qx "airlock-pin-share: 1" "$W/rec-$who.txt" || fail "record version"
	grep -qx "token: airlock-ca" "$W/rec-$who.txt" || fail "record token"
	grep -qx "threshold: 2" "$W/rec-$who.txt" || fail "record M"
	grep -qx "shares: 4" "$W/rec-$who.txt" || fail "record N"
	grep -qx "index: $idx" "$W/rec-$who.txt" || fail "record index"
	grep -qx "officer: $(openssl x509 -in "$O/$who.pem" -outform DER | sha256sum | cut -d' ' -f1)" \
	    "$W/rec-$who.txt" || fail "record officer"
	share=$(sed -n 's/^share: //p' "$W/rec-$who.txt")
	[ ${#share} -eq 80 ] || fail "a 40-character PIN gives 40-byte shares"
	! grep -rq "$share" "$O"/*.yaml || fail "a share is in a transcript"
done
openssl cms -decrypt -inform DER -in "$O/split-pin-2026-share-1-gina.p7m" \
    -inkey "$E/people/ivan.key.pem" -passin "file:$W/pins/ivan" -out /dev/null 2>/dev/null &&
    fail "ivan's key opens gina's share"

step "the transcript verifies and names each share file"
expect_ok "$AIRLOCK" ceremony verify "$O/split-pin-2026.transcript.yaml"
for f in 1-gina 2-hana 3-ivan; do
	grep -q "sha256: \"$(sha256sum "$O/split-pin-2026-share-$f.p7m" | cut -d' ' -f1)\"" \
	    "$O/split-pin-2026.transcript.yaml" || fail "transcript lacks share $f"
done

ceremony_init
AIRLOCKD_YAML_EXTRA="activation: split-pin"
start_daemon

# present NAME FILE: NAME presents share FILE with their key file.
present() {
	"$AIRLOCK" activate --share "$2" --key "$E/people/$1.key.pem" \
	    --key-pass "file:$W/pins/$1" --cert "$O/$1.pem"
}

step "split-pin mode: a PIN is refused"
expect_fail "activates with officers' PIN shares" \
    "$AIRLOCK" activate --pin "file:$W/pins/airlock-ca"

step "one share: not active, one more needed"
expect_ok present gina "$O/split-pin-2026-share-1-gina.p7m"
grep -q "Share 1 of 2 accepted (officer Gina Example" "$W/last.out" || fail "first share"
grep -q "1 more needed" "$W/last.out" || fail "first share: what is missing"
"$AIRLOCK" status >"$W/status"
grep -q "NOT ACTIVE" "$W/status" || fail "active after one share"
grep -q "Shares: *1 held, 1 more needed" "$W/status" || fail "status: shares"

step "the same share again, and a share presented by an operator: refused"
expect_fail "presented already" present gina "$O/split-pin-2026-share-1-gina.p7m"
# Frank gets a copy of ivan's record encrypted to his own certificate.
openssl cms -encrypt -binary -aes256 -outform DER -recip "$O/frank.pem" \
    -in "$W/rec-ivan.txt" -out "$W/frank-copy.p7m"
expect_fail "operator" present frank "$W/frank-copy.p7m"
"$AIRLOCK" status | grep -q "NOT ACTIVE" || fail "active after refusals"

step "a second officer's share activates, and a batch is signed"
expect_ok present hana "$O/split-pin-2026-share-2-hana.p7m"
grep -q "Share 2 of 2 accepted (officer Hana Example" "$W/last.out" || fail "second share"
grep -q "Activated" "$W/last.out" || fail "not activated"
"$AIRLOCK" status | grep -q "active since" || fail "status: not active"
csr_bundle gw 3 separate csv
submit "$W/gw.cms" gw.cms 1
expect_ok approve_token 1 alice
expect_ok approve_token 1 bob
issued 1 120

step "after a restart the shares are needed again; cancel wipes them"
stop_daemon
start_daemon
"$AIRLOCK" status | grep -q "NOT ACTIVE" || fail "active after a restart"
expect_ok present ivan "$O/split-pin-2026-share-3-ivan.p7m"
grep -q "1 more needed" "$W/last.out" || fail "after restart"
expect_ok "$AIRLOCK" activate --cancel
grep -q "Wiped 1 share" "$W/last.out" || fail "cancel"
expect_ok present ivan "$O/split-pin-2026-share-3-ivan.p7m"
grep -q "Share 1 of 2 accepted" "$W/last.out" || fail "the cancelled share still counted"
# Alice's share comes from her token, read with her token's PIN.
expect_ok "$AIRLOCK" activate --share "pkcs11:token=alice;object=split-pin-2026" \
    --token "pkcs11:token=alice;object=alice-2026" --module "$MODULE" \
    --pin "file:$W/pins/alice" --cert "$O/alice.pem"
grep -q "Opened share 4 of a 2-of-4 split" "$W/last.out" || fail "alice's share"
grep -q "Activated" "$W/last.out" || fail "not activated after the restart"

step "the audit log has the shares, the refusals and whose shares activated"
LOG="$W/state/audit.log"
records() { awk -F'\t' -v a="$1" '$1 == "R" && $7 == a' "$LOG" | wc -l; }
[ "$(records share-presented)" -eq 5 ] || fail "share-presented events: $(records share-presented)"
[ "$(records share-refused)" -ge 2 ] || fail "share-refused events"
grep 'share-refused' "$LOG" | grep -q "presented already" || fail "refusal: twice"
grep 'share-refused' "$LOG" | grep -q "operator" || fail "refusal: operator"
grep -q "share-cancelled" "$LOG" || fail "cancel not audited"
grep "activation" "$LOG" | grep -q "officers' PIN shares" || fail "refused PIN not audited"
grep "activation" "$LOG" | grep -q "shares of Gina Example, Hana Example" || fail "who activated"
grep "activation" "$LOG" | grep -q "shares of Ivan Example, Alice Example" || fail "who activated 2"
grep -q "pin-share" "$LOG" || fail "the ceremony's share files are not in the log"
grep -q "$share" "$LOG" && fail "a share is in the audit log"
"$AIRLOCK" audit verify "$LOG" --cert "$O/appliance-audit-2026.pem" >"$W/verify.out" 2>&1 ||
    { cat "$W/verify.out"; fail "the audit log does not verify"; }
echo "ok"
