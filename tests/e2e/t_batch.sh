#!/bin/sh
# Batch issuance end to end: ceremony, airlockd on a medium directory,
# activation, a mac-range bundle made by `airlock bundle create` (keys made
# by the appliance, SMPB out), two approvals, signing in SoftHSM, export;
# a CSR bundle made with stock zip + openssl cms (PEM ZIP out); outputs
# checked with openssl, certtool and Python cryptography.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
need openssl; need certtool; need python3; need zip; need unzip
ceremony_day
start_daemon
recipient

step "not activated: nothing is read"
"$AIRLOCK" status | grep -q "NOT ACTIVE" || fail "status should say not active"
expect_fail "wrong PIN|PIN" sh -c "printf 'wrong\n' | '$AIRLOCK' activate --pin fd:0"
expect_ok "$AIRLOCK" activate --pin "file:$W/pins/airlock-ca"
grep -q "key matches its certificate" "$W/last.out" || fail "activation report"
grep -q "transport key" "$W/last.out" || fail "transport check"

step "a mac-range bundle from airlock bundle create (dave's token)"
expect_ok "$AIRLOCK" bundle create --profile docsis-3.1-cm --name "Line 4 modems" \
    --mac-range 00:11:22:00:00:10:20 --format smpb --recipient "$W/recipient.pem" \
    --signer-token "pkcs11:token=dave;object=dave-2026" --module "$MODULE" \
    --pin "file:$W/pins/dave" --signer-cert "$O/dave.pem" --out "$W/b1.cms"
submit "$W/b1.cms" modems.cms 1
[ ! -e "$W/media/inbox/modems.cms" ] || fail "accepted bundle left in inbox"
"$AIRLOCK" batch show 1 >"$W/show1"
grep -q "Dave Example" "$W/show1" || fail "show: requester"
grep -q "00:11:22:00:00:10 .. 00:11:22:00:00:23" "$W/show1" || { cat "$W/show1"; fail "show: MAC range"; }
grep -q "rsa-2048 (generated" "$W/show1" || fail "show: key types"
grep -q "$(sha256sum "$W/b1.cms" | cut -d' ' -f1)" "$W/show1" || fail "show: bundle digest"

step "approvals: the same officer twice counts once; a second officer approves"
expect_ok approve_token 1 alice
grep -q "1 more needed" "$W/last.out" || fail "first approval"
expect_fail "already gave a decision" approve_token 1 alice
batch_state 1 pending-approval || fail "one officer approved it"
expect_ok approve_token 1 bob
issued 1 120

step "the export: manifest signature, SMPB opened with stock openssl"
openssl cms -verify -binary -inform DER -in "$X/MANIFEST.p7s" -content "$X/MANIFEST" \
    -CAfile "$O/root.pem" -certfile "$O/people-ca.pem" -purpose any -out /dev/null \
    2>"$W/verify.err" || { cat "$W/verify.err"; fail "MANIFEST signature"; }
(cd "$X" && sha256sum -c --quiet <<SUMS
$(awk '{print $1"  "$3}' "$X/MANIFEST")
SUMS
) || fail "MANIFEST digests"
smpb=$(ls "$X"/*.smpb | head -n 1)
openssl cms -decrypt -inform DER -in "$smpb" -recip "$W/recipient.pem" \
    -inkey "$W/recipient.key" -out "$W/smpb.zip" || fail "SMPB does not open"
mkdir -p "$W/smpb" && (cd "$W/smpb" && unzip -q ../smpb.zip && unzip -q certificates.zip)
ls "$W/smpb" | grep -q batch.txt || fail "no batch.txt"
n=$(ls "$W"/smpb/*.cer | wc -l)
[ "$n" -ge 20 ] || fail "expected 20 device certificates, found $n"
cer=$(ls "$W"/smpb/00-11-22-00-00-10*.cer | head -n 1)
openssl x509 -inform DER -in "$cer" -out "$W/dev.pem"
openssl verify -x509_strict -CAfile "$O/root.pem" -untrusted "$O/device-ca.pem" "$W/dev.pem" ||
    fail "device certificate does not verify"
cat "$W/dev.pem" "$O/device-ca.pem" "$O/root.pem" >"$W/chain.pem"
certtool --verify-profile=medium --verify-chain --infile "$W/chain.pem" 2>&1 |
    grep -q "Chain verification output: Verified" || fail "certtool rejects the chain"

step "certificate contents and the generated key (Python cryptography)"
python3 - "$W/smpb" "$O/device-ca.pem" <<'PY'
import glob, os, sys
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
d, ca = sys.argv[1], x509.load_pem_x509_certificate(open(sys.argv[2], "rb").read())
certs = sorted(glob.glob(os.path.join(d, "*.cer")))
serials = set()
for p in certs:
    c = x509.load_der_x509_certificate(open(p, "rb").read())
    try:
        if c.extensions.get_extension_for_class(x509.BasicConstraints).value.ca:
            continue   # the chain files (issuer.cer, root.cer)
    except x509.ExtensionNotFound:
        pass
    assert c.issuer == ca.subject
    assert 0 < c.serial_number < 2**159 and c.serial_number.bit_length() >= 64
    serials.add(c.serial_number)
    assert isinstance(c.public_key(), rsa.RSAPublicKey) and c.public_key().key_size == 2048
    cn = c.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)[0].value
    assert cn.count(":") == 5, cn
keys = glob.glob(os.path.join(d, "*.key")) + glob.glob(os.path.join(d, "*.pem"))
assert serials and len(serials) >= 20, len(serials)
print("certificates:", len(serials), "keys:", len(keys))
PY

step "results log"
expect_ok "$AIRLOCK" batch results 1 --format csv --out "$W/r1.csv"
[ "$(grep -c ',ISSUED,' "$W/r1.csv")" -eq 20 ] || { cat "$W/r1.csv"; fail "results: 20 ISSUED"; }

step "a CSR bundle made with stock zip and openssl cms (frank's key file)"
csr_bundle b2 3 with-root-and-intermediate json san
submit "$W/b2.cms" gateways.cms 2
expect_ok approve_token 2 erin
expect_ok "$AIRLOCK" batch approve 2 --key "$E/people/gina.key.pem" \
    --key-pass "file:$W/pins/gina" --cert "$O/gina.pem"
issued 2 60
"$AIRLOCK" batch results 2 --format json | python3 -c '
import json, sys
r = json.load(sys.stdin)
assert len(r) == 3 and all(x["status"] == "ISSUED" for x in r), r'

step "re-export needs two new approvals"
expect_ok "$AIRLOCK" export request 2
eid=$("$AIRLOCK" export list 2 | awk '$4 == "pending-approval" {print $1}')
[ -n "$eid" ] || fail "no pending re-export"
expect_ok "$AIRLOCK" export approve "$eid" --token "pkcs11:token=alice;object=alice-2026" \
    --module "$MODULE" --pin "file:$W/pins/alice" --cert "$O/alice.pem"
expect_ok "$AIRLOCK" export approve "$eid" --token "pkcs11:token=bob;object=bob-2026" \
    --module "$MODULE" --pin "file:$W/pins/bob" --cert "$O/bob.pem"
wait_for 30 sh -c "'$AIRLOCK' export list 2 | grep -q '^$eid .*written'"

stop_daemon
echo "batch scenario passed"
