#!/bin/sh
# The shipped RSA ceremony day on fresh tokens: people's keys on their own
# tokens, RSA-4096 root, device and people CAs, the root's first CRL,
# enrolment, appliance keys, then `airlock init`. Every artifact is checked
# with stock openssl, GnuTLS certtool, pkcs11-tool and Python cryptography.
. "$(dirname "$0")/lib.sh"
need openssl; need certtool; need pkcs11-tool; need python3; need sqlite3
examples
for t in airlock-ca alice bob erin dave; do new_token $t; done
E=$W/examples; O=$W/out
PINS="$(pin_args airlock-ca alice bob erin dave) --pin carol=file:$W/pins/carol"

step "run the whole day"
# shellcheck disable=SC2086
expect_ok "$AIRLOCK" ceremony run $PINS --out "$O" \
    "$E/people/alice-key.yaml" "$E/people/bob-key.yaml" \
    "$E/people/erin-key.yaml" "$E/people/dave-key.yaml" \
    "$E/rsa/01-root.yaml" "$E/rsa/02-device-ca.yaml" "$E/rsa/03-people-ca.yaml" \
    "$E/rsa/04-root-crl.yaml" "$E/rsa/05-enrol.yaml" "$E/rsa/06-appliance.yaml"
grep -q "enrolled Carol Example as auditor" "$W/last.out" || fail "carol not enrolled"

step "certificates verify with openssl (strict) and certtool"
cd "$O"
openssl verify -x509_strict -CAfile root.pem device-ca.pem people-ca.pem
for c in alice bob erin dave carol appliance-export-2026 appliance-audit-2026 \
    appliance-transport-2026; do
	openssl verify -x509_strict -CAfile root.pem -untrusted people-ca.pem $c.pem
	cat $c.pem people-ca.pem root.pem >chain.tmp
	certtool --verify-profile=medium --verify-chain --infile chain.tmp 2>&1 | grep -q "Chain verification output: Verified" ||
	    fail "certtool rejects the chain of $c"
done
cat device-ca.pem root.pem >chain.tmp
certtool --verify-profile=medium --verify-chain --infile chain.tmp 2>&1 | grep -q "Verified" || fail "certtool: device-ca"
openssl x509 -in root.cer -inform DER -noout -fingerprint -sha256 >/dev/null

step "root CRL verifies and is empty"
openssl crl -in root-1.crl -inform DER -CAfile root.pem -noout -verify 2>&1 | grep -q "verify OK"
openssl crl -in root-1.crl.pem -noout -text | grep -q "No Revoked Certificates"
certtool --crl-info --inder --infile root-1.crl | grep -q "CRL Number (not critical): 01" || fail "certtool: CRL number"

step "certificate contents (Python cryptography)"
python3 - <<'PY'
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa, ec
from cryptography.x509.oid import ExtensionOID
arc = "2.25.120470460270521614068996707519230144129"
def load(n): return x509.load_pem_x509_certificate(open(n, "rb").read())
root, dev, ppl = load("root.pem"), load("device-ca.pem"), load("people-ca.pem")
assert isinstance(root.public_key(), rsa.RSAPublicKey) and root.public_key().key_size == 4096
assert dev.public_key().key_size == 2048
assert isinstance(ppl.public_key(), ec.EllipticCurvePublicKey)
# cryptography 38 (Debian 12) has not_valid_after; newer ones add _utc.
na = getattr(root, "not_valid_after_utc", None) or root.not_valid_after
assert (na.year, na.month, na.day) == (2051, 11, 1), na
bc = dev.extensions.get_extension_for_oid(ExtensionOID.BASIC_CONSTRAINTS)
assert bc.critical and bc.value.ca and bc.value.path_length == 0
aki = dev.extensions.get_extension_for_oid(ExtensionOID.AUTHORITY_KEY_IDENTIFIER).value
ski = root.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_KEY_IDENTIFIER).value
assert aki.key_identifier == ski.digest
for c in (root, dev, ppl):
    n = c.serial_number
    assert 0 < n and n.bit_length() >= 64 and (n.bit_length() + 8) // 8 <= 20, hex(n)
roles = {"alice": "1.1", "bob": "1.1", "erin": "1.1", "dave": "1.2", "carol": "1.3",
         "appliance-export-2026": "2.1", "appliance-audit-2026": "2.2",
         "appliance-transport-2026": "2.3"}
for name, sub in roles.items():
    c = load(name + ".pem")
    eku = c.extensions.get_extension_for_oid(ExtensionOID.EXTENDED_KEY_USAGE).value
    assert [o.dotted_string for o in eku] == [arc + "." + sub], (name, list(eku))
    assert not c.extensions.get_extension_for_oid(ExtensionOID.BASIC_CONSTRAINTS).value.ca
ku = load("appliance-transport-2026.pem").extensions.get_extension_for_oid(ExtensionOID.KEY_USAGE).value
assert ku.key_encipherment and not ku.digital_signature
print("contents OK")
PY

step "private keys are sensitive and never extractable"
pkcs11-tool --module "$MODULE" --token-label airlock-ca --login \
    --pin "$(cat "$W/pins/airlock-ca")" --list-objects --type privkey >keys.txt
n=$(grep -c "Private Key Object" keys.txt)
[ "$n" -eq 6 ] || fail "expected 6 private keys on airlock-ca, found $n"
[ "$(grep -c 'Access:.*sensitive, always sensitive, never extractable' keys.txt)" -eq 6 ] ||
    { cat keys.txt; fail "a CA key is not sensitive / never extractable"; }

step "transcripts verify, with airlock and with stock openssl"
for t in *.transcript.yaml; do
	"$AIRLOCK" ceremony verify "$O/$t" | grep -q ": OK:" || fail "verify $t"
done
openssl x509 -in root.pem -pubkey -noout >root.pub
openssl dgst -sha256 -verify root.pub -signature root-2026.transcript.sig \
    root-2026.transcript.yaml | grep -q "Verified OK"
grep -q 'role: "witness (internal audit)"' root-2026.transcript.yaml
grep -q "sha256: \"$(sha256sum root.pem | cut -d' ' -f1)\"" root-2026.transcript.yaml

step "verify --root: each transcript's signer chains to the root"
expect_ok "$AIRLOCK" ceremony verify --root "$O/root.pem" "$O/device-ca-2026.transcript.yaml" \
    "$O/enrol-2026.transcript.yaml" "$O/appliance-2026.transcript.yaml" "$O/root-crl-1.transcript.yaml"
[ "$(grep -c "the signer chains to the root" "$W/last.out")" -eq 4 ] || fail "chain not reported"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null \
    -subj /CN=other -days 1 -out "$W/other-root.pem" 2>/dev/null
expect_fail "does not chain to the root" \
    "$AIRLOCK" ceremony verify --root "$W/other-root.pem" "$O/enrol-2026.transcript.yaml"

step "every transcript of a multi-script run records its token"
for t in root-2026 device-ca-2026 enrol-2026 appliance-2026; do
	grep -q '^  - module: "/usr/lib/softhsm/libsofthsm2.so"' $t.transcript.yaml ||
	    fail "$t.transcript.yaml does not record the HSM token"
done

step "init builds the appliance state"
expect_ok "$AIRLOCK" init --state "$W/state" --ceremonies "$O" \
    --root-sha256 "$(sha256sum root.cer | cut -d' ' -f1)"
db=$W/state/airlock.db
[ "$(sqlite3 "$db" 'pragma journal_mode')" = wal ] || fail "not WAL"
[ "$(sqlite3 "$db" "select count(*) from ca")" -eq 3 ]
[ "$(sqlite3 "$db" "select group_concat(role, ',') from (select role from person order by name)")" = \
    "officer,officer,auditor,operator,officer" ] || fail "roles"
[ "$(sqlite3 "$db" "select count(*) from appliance_key")" -eq 3 ]
[ "$(sqlite3 "$db" "select number from crl")" -eq 1 ]
[ "$(sqlite3 "$db" "pragma integrity_check")" = ok ]
[ "$(stat -c %a "$db")" = 600 ] || fail "database readable by others"
expect_fail "already exists" "$AIRLOCK" init --state "$W/state" --ceremonies "$O"
echo "ok"
