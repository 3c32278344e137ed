#!/bin/sh
# The shipped issuance profiles pass `airlock profile check`, and a broken
# profile is reported with file, line and key, every problem at once.
. "$(dirname "$0")/lib.sh"
expect_ok "$AIRLOCK" profile check "$AIRLOCK_SRC"/policies/*.yaml
[ "$(grep -c ': OK: profile' "$W/last.out")" -eq "$(ls "$AIRLOCK_SRC"/policies/*.yaml | wc -l)" ] ||
    fail "not every shipped profile was checked"
grep -q "docsis-3.0-cm, issuer device-ca, quorum 2 (disabled)" "$W/last.out" ||
    fail "the legacy DOCSIS 3.0 profile is not shown as disabled"

mkdir -p "$W/p"
sed -e 's/approval_quorum: 2/approval_quorum: 1/' -e 's/^description:/descripton:/' \
    "$AIRLOCK_SRC/policies/tls-device.yaml" >"$W/p/tls-device.yaml"
expect_fail "tls-device.yaml:[0-9]+: approval_quorum: .*at least 2" \
    "$AIRLOCK" profile check "$W/p/tls-device.yaml"
grep -q "tls-device.yaml:[0-9]*: unknown key 'descripton'" "$W/last.out" ||
    fail "the second mistake was not reported"
sed 's/^name: tls-device/name: other-name/' "$AIRLOCK_SRC/policies/tls-device.yaml" \
    >"$W/p/tls-device.yaml"
expect_fail "file name" "$AIRLOCK" profile check "$W/p/tls-device.yaml"
echo ok
