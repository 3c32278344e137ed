#!/bin/sh
# Hostile and mistaken bundles and approvals against a running airlockd:
# each bundle is refused with its specific reason, moved to quarantine/
# with a .reason file, and the daemon keeps serving; each bad approval is
# refused; a rejected batch is never signed.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
need openssl; need python3; need zip; need sqlite3
ceremony_day
start_daemon
recipient
expect_ok "$AIRLOCK" activate --pin "file:$W/pins/airlock-ca"
H=$W/hostile; mkdir -p "$H"

# sign NAME SIGNER: signs $H/NAME.zip with SIGNER's key file (frank, gina).
sign() {
	openssl cms -sign -binary -nodetach -md sha256 -in "$H/$1.zip" -outform DER \
	    -signer "$O/$2.pem" -inkey "$E/people/$2.key.pem" \
	    -passin "file:$W/pins/$2" -out "$H/$1.cms" || fail "sign $1"
}

# manifest DIR PROFILE INPUT OUTPUT: writes DIR/manifest.yaml.
manifest() {
	mkdir -p "$1"
	cat >"$1/manifest.yaml" <<YAML
airlock_bundle: 1
kind: request
id: $(python3 -c 'import uuid; print(uuid.uuid4())')
created: $(date -u +%Y-%m-%dT%H:%M:%SZ)
batch:
  name: Negative case
profile: $2
input:
$3
output:
$4
YAML
}

# zipdir NAME FILES...: zips $H/NAME/FILES into $H/NAME.zip.
zipdir() {
	n=$1; shift
	(cd "$H/$n" && zip -q -X -r "../$n.zip" "$@")
}

# expect_quarantine FILE PATTERN: FILE put in inbox/ ends in quarantine/
# with a .reason matching PATTERN, and is not in inbox/ any more.
expect_quarantine() {
	cp "$2" "$W/media/inbox/$1"
	wait_for 20 test -e "$W/media/quarantine/$1.reason"
	grep -Eq -- "$3" "$W/media/quarantine/$1.reason" || {
	    cat "$W/media/quarantine/$1.reason"; fail "$1: reason lacks '$3'"; }
	[ -e "$W/media/quarantine/$1" ] || fail "$1 not moved to quarantine/"
	[ ! -e "$W/media/inbox/$1" ] || fail "$1 still in inbox/"
	echo "quarantined $1: $(grep '^reason:' "$W/media/quarantine/$1.reason")"
}

MAC_IN='  mode: mac-range
  start: "00:aa:bb:00:00:00"
  count: 4'
SMPB_OUT='  format: smpb
  chain: separate
  results_log: csv
  recipient: recipient.pem'

step "a good bundle first, kept for replay and tamper cases"
manifest "$H/good" docsis-3.1-cm "$MAC_IN" "$SMPB_OUT"
cp "$W/recipient.pem" "$H/good/"
zipdir good manifest.yaml recipient.pem
sign good frank
cp "$H/good.cms" "$W/media/inbox/good.cms"
wait_for 20 batch_state 1 pending-approval

step "refused bundles"
expect_quarantine unsigned.zip "$H/good.zip" "stage: envelope"
sign good gina; cp "$H/good.cms" "$H/officer.cms"; sign good frank
expect_quarantine officer.cms "$H/officer.cms" "role|operator"
expect_quarantine replay.cms "$H/good.cms" "replay"
python3 - "$H/good.cms" "$H/tampered.cms" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
i = b.find(b"manifest.yaml") + 40   # inside the signed ZIP bytes
b[i] ^= 0x01
open(sys.argv[2], "wb").write(bytes(b))
PY
expect_quarantine tampered.cms "$H/tampered.cms" "stage: envelope"

# Archives only a hostile tool writes: Python's zipfile writes any name.
python3 - "$H" <<'PY'
import os, stat, sys, zipfile
h = sys.argv[1]
man = open(os.path.join(h, "good", "manifest.yaml"), "rb").read()
rec = open(os.path.join(h, "good", "recipient.pem"), "rb").read()
def z(name, entries):
    with zipfile.ZipFile(os.path.join(h, name + ".zip"), "w", zipfile.ZIP_DEFLATED) as f:
        for n, data, *mode in entries:
            zi = zipfile.ZipInfo(n)
            zi.compress_type = zipfile.ZIP_DEFLATED
            if mode:
                zi.create_system = 3
                zi.external_attr = mode[0] << 16
            f.writestr(zi, data)
z("traversal", [("manifest.yaml", man), ("recipient.pem", rec), ("../evil.txt", b"x")])
z("link", [("manifest.yaml", man), ("recipient.pem", rec),
           ("evil", b"/etc/passwd", stat.S_IFLNK | 0o777)])
z("bomb", [("manifest.yaml", man), ("recipient.pem", rec), ("zeros.bin", b"\0" * (40 << 20))])
PY
for n in traversal link bomb; do sign $n frank; done
expect_quarantine traversal.cms "$H/traversal.cms" "\.\."
expect_quarantine link.cms "$H/link.cms" "link"
expect_quarantine bomb.cms "$H/bomb.cms" "ratio|limit|larger"

manifest "$H/noprofile" nosuch-profile "$MAC_IN" "$SMPB_OUT"
cp "$W/recipient.pem" "$H/noprofile/"; zipdir noprofile manifest.yaml recipient.pem; sign noprofile frank
expect_quarantine noprofile.cms "$H/noprofile.cms" "stage: profile"

manifest "$H/plainkeys" docsis-3.1-cm "$MAC_IN" '  format: pem-zip
  chain: separate
  results_log: csv'
zipdir plainkeys manifest.yaml; sign plainkeys frank
expect_quarantine plainkeys.cms "$H/plainkeys.cms" "smpb|pkcs12"

manifest "$H/norecipient" docsis-3.1-cm "$MAC_IN" '  format: smpb
  chain: separate
  results_log: csv'
zipdir norecipient manifest.yaml; sign norecipient frank
expect_quarantine norecipient.cms "$H/norecipient.cms" "recipient"

manifest "$H/dupmac" docsis-3.1-cm '  mode: csv
  file: devices.csv' "$SMPB_OUT"
cp "$W/recipient.pem" "$H/dupmac/"
printf 'mac\r\n00:aa:bb:00:10:01\r\n00:aa:bb:00:10:02\r\n00aabb001001\r\n' >"$H/dupmac/devices.csv"
zipdir dupmac manifest.yaml recipient.pem devices.csv; sign dupmac frank
expect_quarantine dupmac.cms "$H/dupmac.cms" "Line 4"

# The good batch holds 00:aa:bb:00:00:00..03 for docsis-3.1-cm already.
manifest "$H/held" docsis-3.1-cm '  mode: mac-range
  start: "00:aa:bb:00:00:02"
  count: 2' "$SMPB_OUT"
cp "$W/recipient.pem" "$H/held/"; zipdir held manifest.yaml recipient.pem; sign held frank
expect_quarantine held.cms "$H/held.cms" "batch 1|already"

CSR_IN='  mode: csr
  directory: csr/'
PEM_OUT='  format: pem-zip
  chain: separate
  results_log: csv'
manifest "$H/weak" tls-device "$CSR_IN" "$PEM_OUT"
mkdir -p "$H/weak/csr"
openssl req -new -newkey rsa:1024 -nodes -keyout "$H/weak.key" -subj "/CN=weak.devices.example.com" \
    -out "$H/weak/csr/weak.csr" 2>/dev/null
zipdir weak manifest.yaml csr; sign weak frank
expect_quarantine weak.cms "$H/weak.cms" "RSA-1024 key not allowed"

manifest "$H/badsig" tls-device "$CSR_IN" "$PEM_OUT"
mkdir -p "$H/badsig/csr"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$H/bs.key" \
    -subj "/CN=bad.devices.example.com" -outform DER -out "$H/bs.der" 2>/dev/null
python3 - "$H/bs.der" "$H/badsig/csr/bad.der" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[-5] ^= 0x55            # inside the signature value
open(sys.argv[2], "wb").write(bytes(b))
PY
zipdir badsig manifest.yaml csr; sign badsig frank
expect_quarantine badsig.cms "$H/badsig.cms" "signature"

step "a symlink, a directory and a dotfile in inbox/ are left alone"
ln -s /etc/passwd "$W/media/inbox/symlink.cms"
mkdir "$W/media/inbox/folder.cms"
cp "$H/good.zip" "$W/media/inbox/.partial.cms"
sleep 1
[ -L "$W/media/inbox/symlink.cms" ] && [ -d "$W/media/inbox/folder.cms" ] &&
    [ -e "$W/media/inbox/.partial.cms" ] || fail "inbox entries touched"
[ ! -e "$W/media/quarantine/symlink.cms.reason" ] || fail "symlink judged"

step "a revoked operator"
sqlite3 "$W/state/airlock.db" "UPDATE person SET status = 'revoked' WHERE name = 'Frank Example'"
manifest "$H/revoked" docsis-3.1-cm '  mode: mac-range
  start: "00:aa:bb:00:20:00"
  count: 2' "$SMPB_OUT"
cp "$W/recipient.pem" "$H/revoked/"; zipdir revoked manifest.yaml recipient.pem; sign revoked frank
expect_quarantine revoked.cms "$H/revoked.cms" "revoked"

step "bad approvals are refused"
# The operator's certificate is not an officer's.
expect_fail "officer|role" "$AIRLOCK" batch approve 1 --token "pkcs11:token=dave;object=dave-2026" \
    --module "$MODULE" --pin "file:$W/pins/dave" --cert "$O/dave.pem"
# A statement over another digest, sent by a hand-written client.
raw_approval gina batch 1 "$(printf ab%.0s $(seq 32))" >"$W/raw.out" 2>&1 || true
grep -q "digest" "$W/raw.out" && grep -q "error" "$W/raw.out" ||
    { cat "$W/raw.out"; fail "approval over another digest not refused for its digest"; }
batch_state 1 pending-approval || fail "batch 1 changed state"

step "a rejected batch is never signed"
expect_ok "$AIRLOCK" batch reject 1 --reason "wrong MAC range" \
    --token "pkcs11:token=alice;object=alice-2026" --module "$MODULE" \
    --pin "file:$W/pins/alice" --cert "$O/alice.pem"
batch_state 1 rejected || fail "batch 1 not rejected"
expect_fail "decision is made|rejected|nothing to decide" approve_token 1 bob
sleep 1
[ "$(sqlite3 "$W/state/airlock.db" "SELECT count(*) FROM certificate WHERE batch_id = 1")" = 0 ] ||
    fail "a rejected batch was signed"

step "the daemon still serves"
"$AIRLOCK" status | grep -q "active since" || fail "daemon not serving"
stop_daemon
echo "negative scenario passed"
