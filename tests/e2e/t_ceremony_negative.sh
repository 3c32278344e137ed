#!/bin/sh
# What a ceremony refuses, each with a message that says what and where,
# and each leaving nothing behind: existing output, existing key label,
# wrong PIN, unsafe PIN file, validity outside the issuer's, malformed YAML,
# unknown key, wrong type, missing issuer, tampered outputs and transcripts.
. "$(dirname "$0")/lib.sh"
need openssl; need pkcs11-tool
examples
new_token airlock-ca
E=$W/examples/rsa; O=$W/out
PIN=$(pin_args airlock-ca)

step "a root to work with"
# shellcheck disable=SC2086
expect_ok "$AIRLOCK" ceremony run $PIN --out "$O" "$E/01-root.yaml"
objects=$(count_objects airlock-ca)

step "existing output: refused before the HSM is touched"
# shellcheck disable=SC2086
expect_fail "root.pem already exists; a ceremony never overwrites" \
    "$AIRLOCK" ceremony run $PIN --out "$O" "$E/01-root.yaml"
[ "$(count_objects airlock-ca)" -eq "$objects" ] || fail "objects were created"

step "existing key label: the HSM refuses a second key of that name"
sed -e 's/^name: root-2026/name: root-again/' -e 's/  name: root$/  name: root2/' \
    "$E/01-root.yaml" >"$W/dup-label.yaml"
# shellcheck disable=SC2086
expect_fail "root-2026.*already exists|already exists.*root-2026" \
    "$AIRLOCK" ceremony run $PIN --out "$O" "$W/dup-label.yaml"
[ ! -e "$O/root2.pem" ] || fail "a certificate was written"
[ ! -e "$O/root-again.transcript.yaml" ] || fail "a transcript was written"

step "wrong PIN"
printf 'not-the-pin\n' >"$W/pins/wrong"; chmod 600 "$W/pins/wrong"
expect_fail "wrong PIN for token 'airlock-ca'" \
    "$AIRLOCK" ceremony run --pin "airlock-ca=file:$W/pins/wrong" --out "$O" \
    "$E/02-device-ca.yaml"
[ ! -e "$O/device-ca.pem" ] || fail "output after a wrong PIN"

step "PIN file readable by others is refused"
chmod 644 "$W/pins/wrong"
expect_fail "chmod 600" \
    "$AIRLOCK" ceremony run --pin "airlock-ca=file:$W/pins/wrong" --out "$O" \
    "$E/02-device-ca.yaml"

step "a PIN on the command line is refused without being repeated"
expect_fail "neither SOURCE nor NAME=SOURCE" \
    "$AIRLOCK" ceremony run --pin 12345678 --out "$O" "$E/02-device-ca.yaml"
if grep -q 12345678 "$W/last.out"; then fail "the PIN was echoed"; fi
expect_fail "neither SOURCE nor NAME=SOURCE" \
    "$AIRLOCK" ceremony run --pin airlock-ca=12345678 --out "$O" "$E/02-device-ca.yaml"

step "no terminal and no PIN source"
expect_fail "no terminal" sh -c "'$AIRLOCK' ceremony run --out '$O' '$E/02-device-ca.yaml' </dev/null"

step "validity outside the issuer's: lint refuses before any key is made"
sed 's/not_after: 2046-11-01T00:00:00Z/not_after: 2052-01-01T00:00:00Z/' \
    "$E/02-device-ca.yaml" >"$W/too-long.yaml"
objects=$(count_objects airlock-ca)
# shellcheck disable=SC2086
expect_fail "would fail lint.*nothing was generated or signed" \
    "$AIRLOCK" ceremony run $PIN --out "$O" "$W/too-long.yaml"
[ "$(count_objects airlock-ca)" -eq "$objects" ] || fail "a key was generated anyway"
grep -q "issuer" "$W/last.out" || fail "the finding does not name the issuer's validity"
[ ! -e "$O/device-ca.pem" ] || fail "a certificate was written"
[ ! -e "$O/device-ca-2026.transcript.yaml" ] || fail "a transcript was written"

step "malformed YAML: file and line"
printf 'airlock_ceremony: 1\nname: x\ntype: [root\n' >"$W/broken.yaml"
expect_fail "broken.yaml:[0-9]+" "$AIRLOCK" ceremony check "$W/broken.yaml"

step "unknown key: file, line and key"
sed 's/^description:/descripton:/' "$E/01-root.yaml" >"$W/typo.yaml"
expect_fail "typo.yaml:[0-9]+.*unknown key 'descripton'" "$AIRLOCK" ceremony check "$W/typo.yaml"
sed 's/    key_usage:/    key_usages:/' "$E/01-root.yaml" >"$W/typo2.yaml"
expect_fail "typo2.yaml:[0-9]+.*key_usages" "$AIRLOCK" ceremony check "$W/typo2.yaml"

step "wrong type: file, line and key"
sed 's/      ca: true/      ca: "yes"/' "$E/01-root.yaml" >"$W/type.yaml"
expect_fail "type.yaml:[0-9]+.*basic_constraints.ca" "$AIRLOCK" ceremony check "$W/type.yaml"
sed 's/    algorithm: rsa-4096/    algorithm: rsa-1024/' "$E/01-root.yaml" >"$W/alg.yaml"
expect_fail "alg.yaml:[0-9]+.*algorithm.*rsa-2048" "$AIRLOCK" ceremony check "$W/alg.yaml"

step "a name too long for a common name"
sed 's/    name: Alice Example/    name: Alice Example With A Name Far Too Long For Any Certificate CN Field/' \
    "$E/05-enrol.yaml" >"$W/long-cn.yaml"
expect_fail "long-cn.yaml:[0-9]+.*name must be 1 to 64 characters" \
    "$AIRLOCK" ceremony check "$W/long-cn.yaml"

step "an appliance ceremony whose last label is taken generates nothing"
# shellcheck disable=SC2086
expect_ok "$AIRLOCK" ceremony run $PIN --out "$O" "$E/03-people-ca.yaml"
sed -e 's/^name: appliance-2026/name: appliance-clash/' \
    -e 's/label: appliance-transport-2026/label: people-ca-2026/' \
    "$E/06-appliance.yaml" >"$W/clash.yaml"
objects=$(count_objects airlock-ca)
# shellcheck disable=SC2086
expect_fail "'people-ca-2026' already exists.*nothing was generated" \
    "$AIRLOCK" ceremony run $PIN --out "$O" "$W/clash.yaml"
[ "$(count_objects airlock-ca)" -eq "$objects" ] || fail "keys were generated anyway"
[ ! -e "$O/appliance-export-2026.pem" ] || fail "a certificate was written"

step "all mistakes reported at once"
sed -e 's/^description:/descripton:/' -e 's/      ca: true/      ca: "yes"/' \
    "$E/01-root.yaml" >"$W/two.yaml"
expect_fail "descripton" "$AIRLOCK" ceremony check "$W/two.yaml"
grep -q "basic_constraints.ca" "$W/last.out" || fail "second mistake not reported"

step "a PIN in a key URI is refused"
sed 's|  key: root-2026|  key: "pkcs11:token=airlock-ca;object=root-2026?pin-value=1234"|' \
    "$E/02-device-ca.yaml" >"$W/pin-uri.yaml"
# shellcheck disable=SC2086
expect_fail "pin-value" "$AIRLOCK" ceremony run $PIN --out "$O" "$W/pin-uri.yaml"

step "issuer key that does not match the issuer certificate"
sed -e 's/^name: alice-key-2026/name: spare-key/' -e 's/token: alice/token: airlock-ca/' \
    -e 's/label: alice-2026/label: spare-2026/' "$W/examples/people/alice-key.yaml" >"$W/spare.yaml"
# shellcheck disable=SC2086
expect_ok "$AIRLOCK" ceremony run $PIN --out "$O" "$W/spare.yaml"
sed -e 's/^name: device-ca-2026/name: device-ca-wrongkey/' -e 's/  key: root-2026/  key: spare-2026/' \
    "$E/02-device-ca.yaml" >"$W/wk.yaml"
objects=$(count_objects airlock-ca)
# shellcheck disable=SC2086
expect_fail "does not match" "$AIRLOCK" ceremony run $PIN --out "$O" "$W/wk.yaml"
[ "$(count_objects airlock-ca)" -eq "$objects" ] || fail "a key was generated anyway"
[ ! -e "$O/device-ca.pem" ] || fail "a certificate was written"

step "missing issuer certificate"
mkdir -p "$W/empty"
# shellcheck disable=SC2086
expect_fail "issuer certificate .*root.pem not found" \
    "$AIRLOCK" ceremony run $PIN --out "$W/empty" "$E/02-device-ca.yaml"

step "tampered output and transcript are detected"
cp "$O/root.pem" "$W/root.pem.bak"
printf '\n' >>"$O/root.pem"
expect_fail "root.pem: SHA-256 .* differs" "$AIRLOCK" ceremony verify "$O/root-2026.transcript.yaml"
expect_fail "differs" "$AIRLOCK" init --state "$W/state" --ceremonies "$O"
[ ! -e "$W/state/airlock.db" ] || fail "init left a database after failing"
cp "$W/root.pem.bak" "$O/root.pem"
sed -i 's/witness (internal audit)/nobody/' "$O/root-2026.transcript.yaml"
expect_fail "signature does not match" "$AIRLOCK" ceremony verify "$O/root-2026.transcript.yaml"
sed -i 's/role: "nobody"/role: "witness (internal audit)"/' "$O/root-2026.transcript.yaml"
expect_ok "$AIRLOCK" ceremony verify "$O/root-2026.transcript.yaml"

step "init refuses a root with another fingerprint"
expect_fail "not one of the --root-sha256 you expected" "$AIRLOCK" init --state "$W/state2" \
    --ceremonies "$O" --root-sha256 0000000000000000000000000000000000000000000000000000000000000000
[ ! -e "$W/state2/airlock.db" ] || fail "init left a database after failing"
echo ok
