#!/bin/sh
# make demo: the shipped example ceremonies on a throwaway SoftHSM token
# tree, end to end, with every result checked by stock tools. Everything
# is left under build/demo/ for you to look at.
set -eu
: "${AIRLOCK_BUILD:?}"
src=$(cd "$(dirname "$0")/.." && pwd)
airlock="$AIRLOCK_BUILD/bin/airlock"
demo="$src/build/demo"
module=/usr/lib/softhsm/libsofthsm2.so

rm -rf "$demo"
mkdir -p "$demo/softhsm/tokens" "$demo/pins"
chmod 700 "$demo/pins"
printf 'directories.tokendir = %s/softhsm/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
    "$demo" >"$demo/softhsm/softhsm2.conf"
export SOFTHSM2_CONF="$demo/softhsm/softhsm2.conf"
cp -r "$src/ceremony/examples" "$demo/scripts"

say() { printf '\n== %s\n' "$*"; }

say "Throwaway HSM: SoftHSM tokens for the CA and for each person"
pins=""
for t in airlock-ca alice bob erin dave; do
	pin=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
	softhsm2-util --init-token --free --label "$t" --so-pin "so-$pin" --pin "$pin" >/dev/null
	printf '%s\n' "$pin" >"$demo/pins/$t"; chmod 600 "$demo/pins/$t"
	pins="$pins --pin $t=file:$demo/pins/$t"
	echo "token $t (PIN in build/demo/pins/$t, owner-only)"
done
# The auditor keeps her key in a passphrase-protected file instead.
printf 'carol demo passphrase\n' >"$demo/pins/carol"; chmod 600 "$demo/pins/carol"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -aes-256-cbc \
    -pass file:"$demo/pins/carol" -out "$demo/scripts/people/carol.key.pem" 2>/dev/null
pins="$pins --pin carol=file:$demo/pins/carol"

s="$demo/scripts"
day="$s/people/alice-key.yaml $s/people/bob-key.yaml $s/people/erin-key.yaml
$s/people/dave-key.yaml $s/rsa/01-root.yaml $s/rsa/02-device-ca.yaml
$s/rsa/03-people-ca.yaml $s/rsa/04-root-crl.yaml $s/rsa/05-enrol.yaml
$s/rsa/06-appliance.yaml"

say "Rehearsal of the whole ceremony day (a second throwaway HSM; nothing written)"
# shellcheck disable=SC2086
"$airlock" ceremony run --rehearse --out "$demo/ceremony" $day </dev/null | tail -n 25

say "The ceremony day, for real (on the demo tokens)"
# This machine is networked; a ceremony host is not. The ceremonies run in
# a network namespace with only lo (tools/offline.sh), so that their
# air-gap guard passes honestly ("air-gap guard: passed" in each transcript).
# shellcheck disable=SC2086
"$src/tools/offline.sh" "$airlock" ceremony run $pins --out "$demo/ceremony" $day
# shellcheck disable=SC2086
"$src/tools/offline.sh" "$airlock" ceremony run $pins --out "$demo/ceremony" \
    "$s/ec/01-root.yaml" "$s/ec/02-device-ca.yaml" "$s/ec/03-root-crl.yaml"

say "Independent checks"
cd "$demo/ceremony"
openssl verify -x509_strict -CAfile root.pem device-ca.pem people-ca.pem
openssl verify -x509_strict -CAfile root.pem -untrusted people-ca.pem \
    alice.pem bob.pem erin.pem dave.pem carol.pem appliance-*.pem
openssl verify -x509_strict -CAfile ec-root.pem ec-device-ca.pem
cat device-ca.pem root.pem >"$demo/device-chain.pem"
certtool --verify-profile=medium --verify-chain --infile "$demo/device-chain.pem" 2>&1 |
    grep "Chain verification output"
openssl crl -in root-1.crl -inform DER -CAfile root.pem -noout -verify
pkcs11-tool --module "$module" --token-label airlock-ca --login \
    --pin "$(cat "$demo/pins/airlock-ca")" --list-objects --type privkey 2>/dev/null |
    grep -E "label|Access" | paste - - | sed 's/\t\+/ /'
"$airlock" ceremony verify "$demo"/ceremony/*.transcript.yaml | sed 's/(key SHA-256.*//'

say "Appliance state from the ceremony outputs"
"$airlock" init --state "$demo/state" --ceremonies "$demo/ceremony" \
    --root-sha256 "$(sha256sum root.cer | cut -d' ' -f1)" \
    --root-sha256 "$(sha256sum ec-root.cer | cut -d' ' -f1)"

say "The daemon, on a directory standing in for the USB medium"
mkdir -p "$demo/media/inbox" "$demo/media/outbox"
cat >"$demo/airlockd.yaml" <<YAML
airlockd: 1
state: $demo/state
media: $demo/media
policies: $src/policies
socket: $demo/console.sock
console_users: [$(id -u)]
hsm:
  module: $module
  token: airlock-ca
  sessions: 2
scan_interval_ms: 200
settle_ms: 200
require_mount: false
network_guard: enforce
YAML
# This machine is networked; the appliance is not. The daemon runs in a
# network namespace with only lo (tools/offline.sh), so that its air-gap
# guard passes honestly rather than being overridden.
"$src/tools/offline.sh" "$AIRLOCK_BUILD/bin/airlockd" --config "$demo/airlockd.yaml" \
    2>"$demo/airlockd.log" &
daemon=$!
trap 'kill $daemon 2>/dev/null || true' EXIT
export AIRLOCK_SOCKET="$demo/console.sock"
while [ ! -S "$demo/console.sock" ]; do sleep 0.1; done
"$airlock" status | head -n 3

say "An officer activates it (the CA token's PIN; every key is checked)"
"$airlock" activate --pin "file:$demo/pins/airlock-ca"

say "Dave (operator) orders 1,000 DOCSIS 3.1 modems by MAC range, SMPB out"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$demo/factory.key" \
    -out "$demo/factory.pem" -subj "/CN=Factory line 4" -days 30 2>/dev/null
"$airlock" bundle create --profile docsis-3.1-cm --name "Line 4 modems, week 47" \
    --mac-range 00:11:22:33:40:00:1000 --format smpb --recipient "$demo/factory.pem" \
    --signer-token "pkcs11:token=dave;object=dave-2026" --module "$module" \
    --pin "file:$demo/pins/dave" --signer-cert "$demo/ceremony/dave.pem" \
    --out "$demo/media/inbox/modems-week47.cms"
until "$airlock" batch list --state pending-approval | grep -q "^1 "; do sleep 0.2; done
"$airlock" batch show 1

say "Two officers approve at the console with their own tokens"
for o in alice bob; do
	"$airlock" batch approve 1 --token "pkcs11:token=$o;object=$o-2026" \
	    --module "$module" --pin "file:$demo/pins/$o" \
	    --cert "$demo/ceremony/$o.pem" | tail -n 1
done

say "Signing in the HSM (1,000 RSA-2048 device keys made on all cores)"
until "$airlock" batch show 1 | grep -q "State: *completed"; do sleep 1; done
until ls "$demo"/media/outbox/*/MANIFEST >/dev/null 2>&1; do sleep 0.2; done
"$airlock" batch show 1 | grep -E "State|Lines"
x=$(dirname "$(ls "$demo"/media/outbox/*/MANIFEST | head -n 1)")
ls -l "$x"

say "The factory opens its SMPB with stock openssl"
openssl cms -verify -binary -inform DER -in "$x/MANIFEST.p7s" -content "$x/MANIFEST" \
    -CAfile "$demo/ceremony/root.pem" -purpose any -out /dev/null
openssl cms -decrypt -inform DER -in "$x"/*.smpb -recip "$demo/factory.pem" \
    -inkey "$demo/factory.key" -out "$demo/smpb.zip"
rm -rf "$demo/smpb"; mkdir -p "$demo/smpb"
(cd "$demo/smpb" && unzip -q ../smpb.zip && unzip -q certificates.zip)
echo "$(ls "$demo"/smpb/*.cer | wc -l) certificates, $(ls "$demo"/smpb/*.key | wc -l) keys"
openssl x509 -inform DER -in "$demo/smpb/00-11-22-33-40-00.cer" -out "$demo/device.pem"
openssl x509 -in "$demo/device.pem" -noout -subject -issuer -enddate
openssl verify -x509_strict -CAfile "$demo/ceremony/root.pem" \
    -untrusted "$demo/ceremony/device-ca.pem" "$demo/device.pem"
"$airlock" batch results 1 | head -n 4

say "A CRL for the device CA, approved by two officers, checked with stock openssl"
"$airlock" crl request --ca device-ca
crl=$("$airlock" crl list --state pending-approval |
    awk '$1 ~ /^[0-9]+$/ && $2 == "pending-approval" {print $1}' | tail -n 1)
for o in alice bob; do
	"$airlock" crl approve "$crl" --token "pkcs11:token=$o;object=$o-2026" \
	    --module "$module" --pin "file:$demo/pins/$o" \
	    --cert "$demo/ceremony/$o.pem" | tail -n 1
done
until ls "$demo"/media/outbox/crl-device-ca-*/MANIFEST >/dev/null 2>&1; do sleep 0.2; done
cx=$(dirname "$(ls "$demo"/media/outbox/crl-device-ca-*/MANIFEST | head -n 1)")
openssl crl -inform DER -in "$(ls "$cx"/device-ca-*.crl | grep -v latest | head -n 1)" \
    -CAfile "$demo/ceremony/device-ca.pem" -noout -verify -crlnumber -nextupdate

say "The auditor verifies the audit log the exports carried, offline"
"$airlock" audit verify "$(ls "$x"/audit-*.log)" --cert "$demo/ceremony/appliance-audit-2026.pem"
"$airlock" audit verify "$(ls "$cx"/audit-*.log)" --follows "$(ls "$x"/audit-*.log)" \
    --cert "$demo/ceremony/appliance-audit-2026.pem"
"$airlock" audit report approvals "$(ls "$cx"/audit-*.log)"
kill $daemon; wait $daemon || true

say "Done"
echo "Ceremony outputs and signed transcripts: build/demo/ceremony/"
echo "Appliance state (SQLite):                build/demo/state/airlock.db"
echo "The medium (inbox/ outbox/ quarantine/):  build/demo/media/"
echo "Daemon log:                              build/demo/airlockd.log"
echo "Throwaway HSM:                           build/demo/softhsm/ (SOFTHSM2_CONF=$SOFTHSM2_CONF)"
