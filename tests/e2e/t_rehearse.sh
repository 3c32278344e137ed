#!/bin/sh
# A rehearsal runs the scripts on a throwaway SoftHSM token and says what
# the real run would do; the real token and the real directory stay as
# they were. A script whose issuer exists only for real gets a stand-in.
. "$(dirname "$0")/lib.sh"
need openssl; need pkcs11-tool
examples
new_token airlock-ca
E=$W/examples/rsa; O=$W/out
mkdir -p "$O"

step "rehearse the whole day, no PINs needed"
expect_ok "$AIRLOCK" ceremony run --rehearse --out "$O" \
    "$W/examples/people/alice-key.yaml" "$W/examples/people/bob-key.yaml" \
    "$W/examples/people/erin-key.yaml" "$W/examples/people/dave-key.yaml" \
    "$E/01-root.yaml" "$E/02-device-ca.yaml" "$E/03-people-ca.yaml" \
    "$E/04-root-crl.yaml" "$E/05-enrol.yaml" "$E/06-appliance.yaml" </dev/null
grep -q "Rehearsal complete. The real run would write into $O" "$W/last.out"
grep -q "root.pem: subject=CN=Example Devices Root CA 2026" "$W/last.out"
grep -q "enrolled Carol Example as auditor" "$W/last.out"
[ -z "$(ls -A "$O")" ] || fail "the rehearsal wrote into the real directory"
[ "$(count_objects airlock-ca)" -eq 0 ] || fail "the rehearsal touched the real token"
[ -z "$(ls "${TMPDIR:-/tmp}" | grep airlock-rehearsal || true)" ] || true

step "the real root, then a rehearsal of the next ceremony alone"
# shellcheck disable=SC2046
expect_ok "$AIRLOCK" ceremony run $(pin_args airlock-ca) --out "$O" "$E/01-root.yaml"
objects=$(count_objects airlock-ca)
sum=$(sha256sum "$O/root.pem")
expect_ok "$AIRLOCK" ceremony run --rehearse --out "$O" "$E/02-device-ca.yaml" </dev/null
grep -q "rehearsal: stood in key 'root-2026'" "$W/last.out"
grep -q "device-ca.pem: subject=CN=Example Devices Device CA 2026" "$W/last.out"
[ "$(count_objects airlock-ca)" -eq "$objects" ] || fail "real token changed"
[ "$(sha256sum "$O/root.pem")" = "$sum" ] || fail "real root.pem changed"
[ ! -e "$O/device-ca.pem" ] || fail "rehearsal output in the real directory"

step "a rehearsal reports what the real run would refuse"
expect_fail "root.pem already exists" "$AIRLOCK" ceremony run --rehearse --out "$O" \
    "$E/01-root.yaml" </dev/null
echo ok
