#!/bin/sh
# Medium faults and a full database disk, end to end, in a private mount
# namespace (root only): the medium is a small tmpfs at media/ and the
# state directory another at state/.
#  1. outbox full during a batch export: nothing partial under a final
#     name, the failure audited once, the export waiting; a bigger medium
#     mounted at the same path -> the same approved export completes by
#     itself and its SMPB opens with openssl cms;
#  2. read-only medium: a batch export and a CRL export wait, audited
#     once each; remounted writable -> both complete;
#  3. the medium pulled while an export is being written (lazy unmount
#     the moment the export's temporary directory appears, the daemon
#     stopped for that instant so that the pull lands mid-write) ->
#     the export fails as "medium absent" and completes when a medium is
#     inserted again;
#  4. the state directory's disk full: an approval fails with a clear
#     error naming the database and "disk full", nothing recorded
#     changes, the daemon keeps serving, PRAGMA integrity_check is ok; a
#     bundle put in inbox/ meanwhile stays there; after space is freed,
#     both succeed.
set -eu
if [ -z "${AIRLOCK_MEDIA_NS:-}" ]; then
	# lib.sh is not read yet (it makes the work directory, which the
	# namespace's run must own), so skip is spelled out here.
	if [ "$(id -u)" != 0 ]; then
		echo "skipped: mounting a tmpfs medium needs root"; exit 77
	fi
	command -v unshare >/dev/null 2>&1 ||
	    { echo "skipped: unshare is not installed"; exit 77; }
	if ! unshare -m --propagation private sh -c \
	    'd=$(mktemp -d) && mount -t tmpfs -o size=64k tmpfs "$d" && umount "$d" && rmdir "$d"' \
	    >/dev/null 2>&1; then
		echo "skipped: unshare -m or mount -t tmpfs is refused here"; exit 77
	fi
	# The whole scenario runs in tools/offline.sh's namespaces (a mount
	# namespace of its own, private, and a network one with only lo), and
	# the daemon is started right there (AIRGAP_HOST=1: no namespace of
	# its own), so that the media it sees are the ones mounted here and
	# the air-gap guard still passes honestly.
	AIRLOCK_MEDIA_NS=1 AIRGAP_HOST=1 exec "$AIRLOCK_SRC/tools/offline.sh" \
	    sh "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
need openssl; need python3; need zip; need sqlite3
# The daemon stops, then the mounts go (they would vanish with the
# namespace anyway, but the work directory cannot be removed under them).
cleanup() {
	[ -z "${DAEMON_PID:-}" ] || { kill "$DAEMON_PID" 2>/dev/null; wait "$DAEMON_PID" 2>/dev/null; } || true
	umount -l "$W/media" 2>/dev/null || true
	umount -l "$W/state" 2>/dev/null || true
	[ -n "${KEEP:-}" ] || rm -rf "$W"
}
trap cleanup EXIT

# medium SIZE: a fresh, empty medium (tmpfs of SIZE) at media/, with
# inbox/ and outbox/, in place of whatever was there.
medium() {
	umount -l "$W/media" 2>/dev/null || true
	mkdir -p "$W/media"
	mount -t tmpfs -o "size=$1,mode=0755" tmpfs "$W/media" || fail "mount tmpfs"
	mkdir "$W/media/inbox" "$W/media/outbox"
}

# check_outbox: outbox/ holds nothing partial under a final name: every
# directory not hidden has MANIFEST, lists every file in it and each
# listed file has its size and SHA-256; no plain file outside them.
check_outbox() {
	python3 - "$W/media/outbox" <<'PY'
import hashlib, os, sys
box = sys.argv[1]
for d in sorted(os.listdir(box)):
    p = os.path.join(box, d)
    if d.startswith("."):
        continue    # a temporary name: never a final one
    if not os.path.isdir(p):
        sys.exit(f"outbox/{d}: a file under a final name outside an export")
    if not os.path.isfile(os.path.join(p, "MANIFEST")):
        sys.exit(f"outbox/{d}: an export directory without MANIFEST")
    listed = {}
    for line in open(os.path.join(p, "MANIFEST"), encoding="utf-8"):
        parts = line.rstrip("\n").split("  ", 2)
        if len(parts) == 3 and len(parts[0]) == 64:
            listed[parts[2]] = (parts[0], int(parts[1]))
    if not listed:
        sys.exit(f"outbox/{d}/MANIFEST lists nothing")
    for name in os.listdir(p):
        if name in ("MANIFEST", "MANIFEST.p7s"):
            continue
        if name not in listed:
            sys.exit(f"outbox/{d}/{name}: not in its MANIFEST")
    for name, (sha, size) in listed.items():
        f = os.path.join(p, name)
        data = open(f, "rb").read()
        if len(data) != size or hashlib.sha256(data).hexdigest() != sha:
            sys.exit(f"outbox/{d}/{name}: size or SHA-256 differs from MANIFEST")
print("outbox ok:", len([d for d in os.listdir(box) if not d.startswith(".")]), "exports")
PY
}

# events ACTION: how many audit records of ACTION the log holds.
events() {
	"$AIRLOCK" audit show --action "$1" --format csv 2>/dev/null |
	    tail -n +2 | grep -c . || true
}

# status_has TEXT: airlock status shows TEXT (grep -E).
status_has() { "$AIRLOCK" status | grep -Eq -- "$1"; }

# export_state BATCH NUMBER STATE: export NUMBER of BATCH is in STATE.
export_state() {
	"$AIRLOCK" export list "$1" | awk -v n="$2" -v s="$3" \
	    '$3 == n && $4 == s {f = 1} END {exit !f}'
}

# mac_bundle FILE NAME COUNT FIRST: a mac-range bundle of COUNT modems
# from FIRST with generated keys, SMPB out (dave's token).
mac_bundle() {
	expect_ok "$AIRLOCK" bundle create --profile docsis-3.1-cm --name "$2" \
	    --mac-range "$4:$3" --format smpb --recipient "$W/recipient.pem" \
	    --signer-token "pkcs11:token=dave;object=dave-2026" --module "$MODULE" \
	    --pin "file:$W/pins/dave" --signer-cert "$O/dave.pem" --out "$1"
}

ceremony_day
recipient

step "the state directory on its own small disk (tmpfs)"
mv "$W/state" "$W/state.init"
mkdir "$W/state"
mount -t tmpfs -o size=48m,mode=0700 tmpfs "$W/state" || fail "mount state tmpfs"
cp -a "$W/state.init/." "$W/state/"
medium 16m
start_daemon
trap cleanup EXIT	# start_daemon set its own
expect_ok "$AIRLOCK" activate --pin "file:$W/pins/airlock-ca"

step "1. outbox full during a batch export"
mac_bundle "$W/b1.cms" "Full stick" 20 00:11:22:00:01:00
submit "$W/b1.cms" b1.cms 1
# A medium too small for the export, though the bundle fitted.
medium 64k
expect_ok approve_token 1 alice
expect_ok approve_token 1 bob
wait_for 120 batch_state 1 completed
wait_for 60 status_has "export 1 of batch 1 waits \(medium full, [3-9] attempts"
status_has "free space on the medium or insert a larger one" || fail "status: advice"
export_state 1 1 approved || fail "a failed export must stay approved"
check_outbox || fail "outbox full: a partial file under a final name"
[ -z "$(ls "$W/media/outbox")" ] || { ls -la "$W/media/outbox"; fail "outbox full: something under a final name"; }
[ "$(events export-failed)" -eq 1 ] || fail "outbox full: expected one export-failed record, got $(events export-failed)"
"$AIRLOCK" audit show --action export-failed --format csv 2>/dev/null |
    grep -q "medium full: .*No space left on device" || fail "export-failed lacks the reason"
grep -q "export-failed failed export=1 batch=1 number=1: medium full" "$W/airlockd.log" ||
    fail "journal: export-failed"

step "1b. a bigger medium at the same path: the same export completes by itself"
medium 16m
wait_for 30 export_state 1 1 written
check_outbox || fail "after re-insert: outbox"
X=$(dirname "$(ls "$W"/media/outbox/batch-1-*/MANIFEST)")
openssl cms -verify -binary -inform DER -in "$X/MANIFEST.p7s" -content "$X/MANIFEST" \
    -CAfile "$O/root.pem" -certfile "$O/people-ca.pem" -purpose any -out /dev/null \
    2>"$W/verify.err" || { cat "$W/verify.err"; fail "MANIFEST signature"; }
openssl cms -decrypt -inform DER -in "$(ls "$X"/*.smpb)" -recip "$W/recipient.pem" \
    -inkey "$W/recipient.key" -out "$W/smpb1.zip" || fail "SMPB does not open"
status_has "^Export: " && fail "status still shows the fault"
[ "$(events export-written)" -eq 1 ] || fail "one export-written"
"$AIRLOCK" export list 1 | awk 'NR > 1' | grep -c . | grep -qx 1 ||
    fail "a new export record was made"

step "2. read-only medium: a batch export and a CRL export wait"
mac_bundle "$W/b2.cms" "RO stick" 4 00:11:22:00:02:00
submit "$W/b2.cms" b2.cms 2
# A file that will be refused, put in while nothing reads inbox/: it
# cannot be quarantined on the read-only medium and stays in inbox/.
expect_ok "$AIRLOCK" deactivate
printf 'not a bundle\n' >"$W/media/inbox/junk.cms"
mount -o remount,ro "$W/media" || fail "remount ro"
expect_ok "$AIRLOCK" activate --pin "file:$W/pins/airlock-ca"
wait_for 30 sh -c "grep -q 'intake failed.*quarantine.*Read-only file system' '$W/airlockd.log'"
expect_ok approve_token 2 alice
expect_ok approve_token 2 bob
expect_ok "$AIRLOCK" crl request --ca device-ca
for o in alice erin; do
	expect_ok "$AIRLOCK" crl approve 1 --token "pkcs11:token=$o;object=$o-2026" \
	    --module "$MODULE" --pin "file:$W/pins/$o" --cert "$O/$o.pem"
done
wait_for 120 batch_state 2 completed
wait_for 60 status_has "export 1 of batch 2 waits \(medium read-only, [3-9] attempts"
wait_for 60 status_has "^CRL export: +CRL 1 of device-ca waits \(medium read-only, [2-9] attempts"
export_state 2 1 approved || fail "read-only: the export must stay approved"
[ "$(events export-failed)" -eq 2 ] || fail "read-only: expected one more export-failed, got $(events export-failed)"
[ "$(events crl-export)" -eq 1 ] || fail "read-only: expected one crl-export record"
[ -e "$W/media/inbox/junk.cms" ] || fail "read-only: the refused file left inbox/"
[ "$(events intake)" -eq 1 ] || fail "read-only: expected one intake failure record, got $(events intake)"
"$AIRLOCK" audit show --action crl-export --format csv 2>/dev/null |
    grep -q "medium read-only" || fail "crl-export lacks the reason"
mount -o remount,rw "$W/media" || fail "remount rw"
wait_for 30 export_state 2 1 written
wait_for 30 sh -c "ls '$W'/media/outbox/crl-device-ca-1/MANIFEST"
check_outbox || fail "after remount: outbox"
openssl crl -inform DER -in "$W/media/outbox/crl-device-ca-1/device-ca-1.crl" \
    -CAfile "$O/device-ca.pem" -noout 2>/dev/null || fail "the CRL does not verify"
wait_for 30 sh -c "[ ! -e '$W/media/inbox/junk.cms' ] && ls '$W'/media/quarantine/junk.cms.reason"

step "3. the medium pulled while an export is being written"
# Many requests make an export that takes a while to write.
mkdir -p "$W/big/csr"
python3 - "$W/big/csr" <<'PY'
import os, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
key = ec.generate_private_key(ec.SECP256R1())
for i in range(1, 1501):
    cn = f"pull-{i}.devices.example.com"
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
           .add_extension(x509.SubjectAlternativeName([x509.DNSName(cn)]), critical=False)
           .sign(key, hashes.SHA256()))
    with open(os.path.join(sys.argv[1], f"pull-{i}.csr"), "wb") as f:
        f.write(csr.public_bytes(serialization.Encoding.PEM))
PY
CSR_MADE=1 csr_bundle big 0 separate csv
submit "$W/big.cms" big.cms 3
# The puller: as soon as export N's temporary directory appears it stops
# the daemon (waiting until every thread is stopped), and only if nothing
# is under the final name yet detaches the medium (umount -l) before
# letting the daemon go on: the pull then lands mid-write for certain.
# Should the export win the race, it says "missed", and a re-export
# (two more approvals) gives it another chance.
puller() {
	python3 - "$W/media/outbox" "$W/media" "$DAEMON_PID" "$1" <<'PY'
import ctypes, os, signal, sys, time
box, media, pid, name = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3]), sys.argv[4]
libc = ctypes.CDLL(None, use_errno=True)
def stopped():
    tasks = os.listdir(f"/proc/{pid}/task")
    return all(open(f"/proc/{pid}/task/{t}/stat").read().rsplit(")", 1)[1].split()[0] == "T"
               for t in tasks)
deadline = time.time() + 300
while time.time() < deadline:
    names = os.listdir(box)
    if name in names:
        print("missed: the export completed first")
        sys.exit(0)
    if any(n.startswith("." + name + ".tmp.") for n in names):
        os.kill(pid, signal.SIGSTOP)
        while not stopped():
            time.sleep(0.001)
        if name in os.listdir(box):
            os.kill(pid, signal.SIGCONT)
            print("missed: renamed before the daemon stopped")
            sys.exit(0)
        rc = libc.umount2(media, 2)
        os.kill(pid, signal.SIGCONT)
        if rc != 0:
            sys.exit("umount2: errno %d" % ctypes.get_errno())
        print("landed")
        sys.exit(0)
sys.exit("timed out")
PY
}
n=1
while :; do
	puller "batch-3-Gateways-$n" >"$W/pull.out" 2>&1 &
	PULLER=$!
	if [ "$n" -eq 1 ]; then
		expect_ok approve_token 3 alice
		expect_ok approve_token 3 bob
	else
		expect_ok "$AIRLOCK" export request 3
		eid=$("$AIRLOCK" export list 3 | awk '$4 == "pending-approval" {print $1}')
		for o in alice bob; do
			expect_ok "$AIRLOCK" export approve "$eid" --token "pkcs11:token=$o;object=$o-2026" \
			    --module "$MODULE" --pin "file:$W/pins/$o" --cert "$O/$o.pem"
		done
	fi
	wait "$PULLER" || { cat "$W/pull.out"; fail "the puller failed"; }
	cat "$W/pull.out"
	grep -qx landed "$W/pull.out" && break
	[ "$n" -lt 3 ] || fail "the pull did not land mid-write in 3 tries"
	wait_for 60 export_state 3 "$n" written
	n=$((n + 1))
done
wait_for 120 batch_state 3 completed
wait_for 60 status_has "export $n of batch 3 waits \(medium absent"
export_state 3 "$n" approved || fail "pulled: the export must stay approved"
"$AIRLOCK" audit show --action export-failed --format csv 2>/dev/null |
    grep "export=.* batch=3 number=$n" | grep -q "medium absent" ||
    fail "pulled: no export-failed record saying medium absent"
grep -q "export-failed failed export=[0-9]* batch=3 number=$n: medium absent: " "$W/airlockd.log" ||
    fail "pulled: the journal does not say the medium is absent"
step "3b. a medium inserted again: the export is retried and completes"
medium 64m
wait_for 60 export_state 3 "$n" written
check_outbox || fail "after re-insert: outbox"
[ "$(grep -c "^[0-9a-f]\{64\}  " "$W/media/outbox/batch-3-Gateways-$n/MANIFEST")" -ge 3 ] ||
    fail "batch 3 export $n: MANIFEST lists too few files"

step "4. the state directory's disk full"
mac_bundle "$W/b4.cms" "Disk full" 2 00:11:22:00:04:00
submit "$W/b4.cms" b4.cms 4
"$AIRLOCK" batch show 4 >"$W/show4.before"
n_before=$(sqlite3 "file:$W/state/airlock.db?mode=ro" "SELECT count(*) FROM audit_record")
# The write-ahead log is emptied first, so that the next step must grow
# it (SQLite reuses the space a log already has).
[ "$(sqlite3 -cmd ".timeout 10000" "$W/state/airlock.db" 'PRAGMA wal_checkpoint(TRUNCATE)' | cut -d'|' -f1)" = 0 ] ||
    fail "cannot empty the write-ahead log"
dd if=/dev/zero of="$W/state/filler" bs=64k 2>/dev/null || true
expect_fail "disk full" approve_token 4 alice
grep -q "$W/state/airlock.db" "$W/last.out" || { cat "$W/last.out"; fail "disk full: the error does not name the database"; }
cat "$W/last.out"
grep -q "step was not taken: $W/state/airlock.db: .*disk full" "$W/airlockd.log" ||
    fail "disk full: not in the journal"
expect_ok "$AIRLOCK" status
n_after=$(sqlite3 "file:$W/state/airlock.db?mode=ro" "SELECT count(*) FROM audit_record")
[ "$n_after" = "$n_before" ] || fail "disk full: audit records $n_before before, $n_after after"
"$AIRLOCK" batch show 4 >"$W/show4.after"
cmp -s "$W/show4.before" "$W/show4.after" || { diff "$W/show4.before" "$W/show4.after"; fail "disk full: the batch changed"; }
batch_state 4 pending-approval || fail "disk full: the approval was taken"
[ "$(sqlite3 "file:$W/state/airlock.db?mode=ro" 'PRAGMA integrity_check')" = ok ] ||
    fail "disk full: integrity_check"
# A bundle arriving meanwhile stays in inbox/ (its copy cannot be kept).
mac_bundle "$W/b5.cms" "While full" 2 00:11:22:00:05:00
cp "$W/b5.cms" "$W/media/inbox/b5.cms"
wait_for 30 sh -c "grep -q 'intake failed' '$W/airlockd.log'"
[ -e "$W/media/inbox/b5.cms" ] || fail "disk full: the bundle left inbox/"
rm -f "$W/state/filler"
expect_ok approve_token 4 alice
expect_ok approve_token 4 bob
wait_for 120 batch_state 4 completed
wait_for 30 batch_state 5 pending-approval
[ ! -e "$W/media/inbox/b5.cms" ] || fail "after freeing: the bundle is still in inbox/"
[ "$(sqlite3 "file:$W/state/airlock.db?mode=ro" 'PRAGMA integrity_check')" = ok ] ||
    fail "after freeing: integrity_check"
[ "$(events intake)" -le 2 ] || fail "intake failures recorded at every scan: $(events intake)"

stop_daemon

step "5. no medium at all when the daemon starts: it starts and waits"
umount -l "$W/media"
rmdir "$W/media"
"$AIRLOCK_BUILD/bin/airlockd" --config "$W/airlockd.yaml" >>"$W/airlockd.log" 2>&1 &
DAEMON_PID=$!
wait_for 10 test -S "$W/console.sock"
expect_ok "$AIRLOCK" activate --pin "file:$W/pins/airlock-ca"
wait_for 10 status_has "no medium inserted"
medium 16m
wait_for 10 status_has "inbox/ present"
stop_daemon
expect_ok "$AIRLOCK" audit verify "$W/state/audit.log" --cert "$O/appliance-audit-2026.pem" --quiet
echo "media faults scenario passed"
