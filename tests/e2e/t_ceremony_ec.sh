#!/bin/sh
# The EC alternative: P-384 root, name-constrained P-256 device CA, the
# root's first CRL. Checked with openssl, certtool and Python cryptography.
. "$(dirname "$0")/lib.sh"
need openssl; need certtool; need python3
examples
new_token airlock-ca
E=$W/examples/ec; O=$W/out
# shellcheck disable=SC2046
expect_ok "$AIRLOCK" ceremony run $(pin_args airlock-ca) --out "$O" \
    "$E/01-root.yaml" "$E/02-device-ca.yaml" "$E/03-root-crl.yaml"
cd "$O"
openssl verify -x509_strict -CAfile ec-root.pem ec-device-ca.pem
cat ec-device-ca.pem ec-root.pem >chain.tmp
certtool --verify-profile=medium --verify-chain --infile chain.tmp 2>&1 | grep -q Verified
openssl crl -in ec-root-1.crl -inform DER -CAfile ec-root.pem -noout -verify 2>&1 | grep -q "verify OK"
python3 - <<'PY'
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtensionOID, SignatureAlgorithmOID
def load(n): return x509.load_pem_x509_certificate(open(n, "rb").read())
root, dev = load("ec-root.pem"), load("ec-device-ca.pem")
assert isinstance(root.public_key().curve, ec.SECP384R1)
assert isinstance(dev.public_key().curve, ec.SECP256R1)
# The P-384 root signs with SHA-384, chosen from its key.
assert dev.signature_algorithm_oid == SignatureAlgorithmOID.ECDSA_WITH_SHA384
nc = dev.extensions.get_extension_for_oid(ExtensionOID.NAME_CONSTRAINTS)
assert nc.critical
names = [str(g.value) if not hasattr(g.value, "rfc4514_string") else g.value.rfc4514_string()
         for g in nc.value.permitted_subtrees]
assert "devices.example.com" in names and "O=Example Devices Inc,C=US" in names, names
print("EC contents OK")
PY
echo ok
