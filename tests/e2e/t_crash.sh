#!/bin/sh
# Crash safety (issue 6): kill -9 for airlockd and every process it
# started, at random points, while a 10,000-line CSR batch is issued and
# while CRLs go from request to the medium. After every kill, with the
# daemon down: the database passes PRAGMA integrity_check and its foreign
# keys hold, no line has two certificates, no serial is used twice, every
# certificate has exactly one audit record, and the text copy of the audit
# log verifies; every restart walks the whole log (airlockd refuses to
# start on a broken chain). At the end: every line issued exactly once,
# the export lists the same serials as the database, a sample of the
# certificates verifies with openssl, and `airlock audit verify` accepts
# the log; every CRL number names one CRL, the numbers rise, and the last
# CRL verifies and lists every revoked serial.
#
# CRASH_SEED replays the random kill points (printed at the start; the
# delays also follow the measured signing rate, so a replay lands near,
# not exactly on, the same points). CRASH_LINES (10,000), CRASH_KILLS
# (kills that must land while lines are issued, 50), CRASH_REVOKE
# (revoked certificates, 2,000) and CRASH_CRL_KILLS (10) change the size.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
need openssl; need python3; need zip; need sqlite3; need ps
BEGAN=$(date +%s)
# The ASan build signs and starts several times slower: fewer lines (yet
# enough for every run between kills to issue its share), as many kills.
if ldd "$AIRLOCK_BUILD/bin/airlockd" 2>/dev/null | grep -q libasan; then
	LINES=${CRASH_LINES:-5000}
else
	LINES=${CRASH_LINES:-10000}
fi
KILLS=${CRASH_KILLS:-50}
REVOKE=${CRASH_REVOKE:-2000}
CRL_KILLS=${CRASH_CRL_KILLS:-10}
[ "$REVOKE" -lt "$LINES" ] || REVOKE=$((LINES / 2))
SEED=${CRASH_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
echo "CRASH_SEED=$SEED (set it to replay these kill points); $LINES lines, $KILLS kills"
# Lines per transaction: small, so that issuance makes progress between
# kills often enough for $KILLS of them to land while lines are issued.
AIRLOCKD_YAML_EXTRA="signer:
  group: 16"
DB=$W/state/airlock.db
LOG=$W/state/audit.log
ceremony_day
AC="$O/appliance-audit-2026.pem"

# next_rand: R, the next number in [0, 1) of the sequence CRASH_SEED names.
RNG_N=0
next_rand() {
	RNG_N=$((RNG_N + 1))
	R=$(awk -v s="$SEED" -v n="$RNG_N" 'BEGIN { srand(s)
	    for (i = 1; i < n; i++) rand(); printf "%.4f\n", rand() }')
}

# q SQL: runs SQL on the database. After a kill it leaves the write-ahead
# log as the crash left it (no checkpoint on close), so that airlockd
# itself recovers from it; a running daemon is not disturbed (a WAL
# reader blocks no writer).
q() {
	sqlite3 -batch -bail -noheader "$DB" <<SQL
.output /dev/null
.dbconfig no_ckpt_on_close on
.output stdout
$1
SQL
}

# log_verifies FILE [python]: the complete lines of FILE (a crash may cut
# the last one, which airlockd writes again at start) verify with airlock
# and, with python, with the independent checker too (slower: every
# tenth kill and at the end).
log_verifies() {
	head -n "$(wc -l <"$1")" "$1" >"$W/log.prefix"
	"$AIRLOCK" audit verify "$W/log.prefix" --cert "$AC" >"$W/verify.out" 2>&1 ||
	    { cat "$W/verify.out"; fail "after kill $kills: airlock audit verify"; }
	[ -n "${2:-}" ] || return 0
	python3 "$AIRLOCK_SRC/tests/e2e/audit_check.py" "$W/log.prefix" "$AC" \
	    >"$W/check.out" 2>&1 || { cat "$W/check.out"; fail "after kill $kills: audit_check.py"; }
}

# The invariants a kill must never break, as queries that name each
# violation; crash_checks runs them all in one sqlite3.
cat >"$W/invariants.sql" <<'SQL'
SELECT 'integrity_check: ' || integrity_check FROM pragma_integrity_check
    WHERE integrity_check <> 'ok' LIMIT 5;
SELECT 'foreign key: ' || "table" || ' row ' || rowid FROM pragma_foreign_key_check LIMIT 5;
SELECT 'two certificates for line ' || line FROM certificate
    WHERE batch_id IS NOT NULL GROUP BY batch_id, line HAVING count(*) > 1 LIMIT 5;
SELECT 'serial used twice: ' || serial FROM (SELECT ca_id, serial FROM certificate
    UNION ALL SELECT ca_id, serial FROM serial_reservation r WHERE NOT EXISTS
    (SELECT 1 FROM certificate c WHERE c.ca_id = r.ca_id AND c.serial = r.serial))
    GROUP BY ca_id, serial HAVING count(*) > 1 LIMIT 5;
SELECT 'serial on two lines: ' || serial FROM line WHERE serial IS NOT NULL
    GROUP BY serial HAVING count(*) > 1 LIMIT 5;
SELECT 'issued line unlike its certificate: ' || l.line FROM line l
    WHERE l.status = 'issued' AND NOT EXISTS (SELECT 1 FROM certificate c
    WHERE c.batch_id = l.batch_id AND c.line = l.line AND c.serial = l.serial
    AND c.der = l.cert_der) LIMIT 5;
SELECT 'certificate of a line not issued: ' || c.serial FROM certificate c
    WHERE c.batch_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM line l WHERE
    l.batch_id = c.batch_id AND l.line = c.line AND l.status = 'issued') LIMIT 5;
SELECT 'signed line without its reservation: ' || l.line FROM line l
    WHERE l.status IN ('reserved', 'issued') AND NOT EXISTS (SELECT 1 FROM
    serial_reservation r WHERE r.batch_id = l.batch_id AND r.line = l.line
    AND r.serial = l.serial) LIMIT 5;
-- One certificate-issued record per certificate: its line, serial and
-- hash; none missing, none extra, none twice.
CREATE TEMP VIEW want AS SELECT 'batch=' || c.batch_id || ' ca=' || a.name ||
    ' profile=' || b.profile || ' line=' || c.line || ' serial=' || c.serial AS o,
    c.sha256 AS h FROM certificate c JOIN batch b ON b.id = c.batch_id
    JOIN ca a ON a.id = c.ca_id;
CREATE TEMP VIEW got AS SELECT objects AS o, substr(details, -64) AS h
    FROM audit_record WHERE action = 'certificate-issued';
SELECT 'certificate without its audit record: ' || o FROM
    (SELECT * FROM want EXCEPT SELECT * FROM got) LIMIT 5;
SELECT 'audit record without its certificate: ' || o FROM
    (SELECT * FROM got EXCEPT SELECT * FROM want) LIMIT 5;
SELECT 'certificate recorded twice: ' || objects FROM audit_record
    WHERE action = 'certificate-issued' GROUP BY objects HAVING count(*) > 1 LIMIT 5;
-- CRLs: one per number and per issued request, numbers rising in the
-- order they were taken, every number the daemon used taken first
-- (CRLs without a request are the ceremonies', imported at init).
SELECT 'CRL number never taken: ' || c.number FROM crl c WHERE
    c.request_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM crl_number n
    WHERE n.ca_id = c.ca_id AND n.number = c.number) LIMIT 5;
SELECT 'issued CRL request without exactly one CRL: ' || r.id FROM crl_request r
    WHERE r.state = 'issued' AND (SELECT count(*) FROM crl c WHERE
    c.request_id = r.id AND c.number = r.number) <> 1 LIMIT 5;
SELECT 'CRL of a request not issued: ' || c.number FROM crl c JOIN crl_request r
    ON r.id = c.request_id WHERE r.state <> 'issued' LIMIT 5;
SELECT 'CRL numbers out of request order: ' || a.number FROM crl a, crl b
    WHERE a.ca_id = b.ca_id AND a.number < b.number AND
    a.request_id > b.request_id LIMIT 5;
SELECT 'a gap among the CRL numbers taken by CA ' || ca_id FROM crl_number
    GROUP BY ca_id HAVING max(number) - min(number) + 1 <> count(*);
SQL

# crash_checks [python]: the invariants hold in the state a kill left,
# and the text copy of the audit log verifies (with python, or at every
# tenth kill, with the independent checker too).
crash_checks() {
	out=$(q "$(cat "$W/invariants.sql")") || fail "after kill $kills: the invariant queries failed"
	[ -z "$out" ] || fail "after kill $kills: $out"
	[ $((kills % 10)) -ne 0 ] || set -- python
	log_verifies "$LOG" "${1:-}"
}

# restart: airlockd on the state the kill left, activated.
restart() {
	cat "$W/airlockd.log" >>"$W/airlockd.all"	# start_daemon starts a new one
	start_daemon
	expect_ok "$AIRLOCK" activate --pin "file:$W/pins/airlock-ca"
}

# now_ms: a clock in milliseconds.
now_ms() { echo $(($(date +%s%N) / 1000000)); }

step "a $LINES-line CSR batch (P-256 keys, Python cryptography), two approvals"
mkdir -p "$W/big/csr"
python3 - "$W/big/csr" "$LINES" <<'PY'
import os, sys
from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
d, n = sys.argv[1], int(sys.argv[2])
for i in range(1, n + 1):
    k = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
        "node-%d.devices.example.com" % i)])
    csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(
        k, hashes.SHA256())
    with open(os.path.join(d, "node-%d.csr" % i), "wb") as f:
        f.write(csr.public_bytes(serialization.Encoding.DER))
PY
csr_pack big separate csv
start_daemon
expect_ok "$AIRLOCK" activate --pin "file:$W/pins/airlock-ca"
submit "$W/big.cms" big.cms 1
expect_ok approve_token 1 alice
expect_ok approve_token 1 bob
RAN=$(now_ms)

step "kill -9 at random points while the lines are issued"
kills=0; landed=0; issued=0; busy=0
while :; do
	# Spread the kills still owed, with room to spare, over the lines
	# still pending, at the rate measured so far (ms of run per line).
	owed=$((KILLS + 15 - landed)); [ "$owed" -ge 15 ] || owed=15
	next_rand
	delay=$(awk -v r="$R" -v left=$((LINES - issued)) -v owed="$owed" \
	    -v busy="$busy" -v done="$issued" 'BEGIN {
		per = done > 0 ? busy / done : 5
		d = 2 * r * left / owed * per
		if (d < 20) d = 20
		printf "%.3f\n", d / 1000 }')
	sleep "$delay"
	# (Before the kill: a process that dies takes its time, ASan's most.)
	busy=$((busy + $(now_ms) - RAN))
	crash_daemon
	kills=$((kills + 1))
	state=$(q "SELECT state FROM batch WHERE id = 1")
	now=$(q "SELECT count(*) FROM line WHERE batch_id = 1 AND status = 'issued'")
	crash_checks
	# A kill counts when it cut a run that had issued lines and more
	# were to come: it landed while the batch was being issued.
	counts=""
	if [ "$state" = issuing ] && [ "$now" -gt "$issued" ]; then
		landed=$((landed + 1)); counts=" (kill $landed during issuance)"
	fi
	echo "kill $kills after ${delay}s: $now of $LINES issued, batch $state$counts"
	issued=$now
	restart
	RAN=$(now_ms)
	[ "$state" = issuing ] || [ "$state" = approved ] || break
done
[ "$landed" -ge "$KILLS" ] ||
    fail "only $landed of $kills kills landed while lines were issued (CRASH_SEED=$SEED)"

step "kill -9 while the export is written"
# The export (the certificates, results, the audit log) takes a second or
# so: up to three kills within the first 1.5 s after a restart.
for k in 1 2 3; do
	[ -z "$(q "SELECT id FROM export WHERE batch_id = 1 AND state = 'written'")" ] || break
	next_rand
	sleep "$(awk -v r="$R" 'BEGIN { printf "%.3f\n", 0.02 + 1.5 * r }')"
	crash_daemon
	kills=$((kills + 1))
	crash_checks
	echo "kill $kills: export $(q "SELECT state FROM export WHERE batch_id = 1")"
	restart
done

step "the batch: every line issued exactly once, the export matches the database"
issued 1 600
[ "$(q "SELECT count(*) FROM line WHERE batch_id = 1 AND status = 'issued'")" -eq "$LINES" ] ||
    fail "not every line was issued: $(q "SELECT status, count(*) FROM line GROUP BY status")"
[ "$(q "SELECT count(DISTINCT serial) FROM certificate WHERE batch_id = 1")" -eq "$LINES" ] ||
    fail "not $LINES distinct serials"
[ "$(q "SELECT count(*) FROM export WHERE batch_id = 1 AND state = 'written'")" -eq 1 ] ||
    fail "the export is not recorded written exactly once"
q "SELECT serial FROM certificate WHERE batch_id = 1 ORDER BY serial" >"$W/db.serials"
"$AIRLOCK" batch results 1 --format csv --out "$W/results.csv"
awk -F, 'NR > 1 && $0 ~ /,ISSUED,/ {print $3}' "$W/results.csv" | sort >"$W/results.serials"
cmp -s "$W/db.serials" "$W/results.serials" || fail "airlock batch results differs from the database"
# Every complete export on the medium (a kill after MANIFEST but before
# the database said so leaves one more, complete and the same) carries
# exactly the database's certificates; one without MANIFEST is an
# attempt the kill cut, which no reader uses (docs/formats/export.md).
complete=0
for x in "$W"/media/outbox/batch-1-*; do
	[ -f "$x/MANIFEST" ] || { echo "cut export attempt: $(basename "$x")"; continue; }
	complete=$((complete + 1))
	(cd "$x" && awk '{print $1"  "$3}' MANIFEST | sha256sum -c --quiet) ||
	    fail "$(basename "$x"): files differ from MANIFEST"
	python3 - "$x" "$W/db.serials" "$LINES" "$SEED" "$W/sample" <<'PY'
import csv, os, random, sys, zipfile
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
d, want, n, seed, sample = sys.argv[1:6]
n, want = int(n), open(want).read().split()
got, certs = [], []
with zipfile.ZipFile(os.path.join(d, "batch.zip")) as z:
    for name in z.namelist():
        for c in x509.load_pem_x509_certificates(z.read(name)):
            if "node-" in c.subject.rfc4514_string():
                got.append("%x" % c.serial_number)
                certs.append(c)
assert len(got) == n, "%s: %d device certificates, not %d" % (d, len(got), n)
assert sorted(got) == sorted(want), "%s: serials differ from the database" % d
rows = list(csv.DictReader(open(os.path.join(d, "results.csv"))))
issued = sorted(r["serial"] for r in rows if r["status"] == "ISSUED")
assert issued == sorted(want), "%s: results.csv serials differ" % d
os.makedirs(sample, exist_ok=True)
for i, c in enumerate(random.Random(seed).sample(certs, min(20, n))):
    with open(os.path.join(sample, "c%d.pem" % i), "wb") as f:
        f.write(c.public_bytes(Encoding.PEM))
print("%s: %d certificates, serials as in the database" % (os.path.basename(d), n))
PY
done
[ "$complete" -ge 1 ] || fail "no complete export of batch 1"
for c in "$W"/sample/*.pem; do
	openssl verify -x509_strict -CAfile "$O/root.pem" -untrusted "$O/device-ca.pem" "$c" \
	    >/dev/null 2>&1 || fail "$c does not verify against the CA chain"
done

step "revoke $REVOKE certificates (a targets file), two approvals"
head -n "$REVOKE" "$W/db.serials" | sed 's/^/serial /' >"$W/targets.txt"
expect_ok "$AIRLOCK" revoke --file "$W/targets.txt" --reason keyCompromise \
    --message "crash test" --signer-key "$E/people/gina.key.pem" \
    --key-pass "file:$W/pins/gina" --signer-cert "$O/gina.pem"
expect_ok officer_approve revocation 1 alice
expect_ok officer_approve revocation 1 bob
wait_for 60 sh -c "[ -n \"\$('$AIRLOCK' crl list --state pending-approval | awk '\$2 == \"pending-approval\"')\" ]"
[ "$(q "SELECT count(*) FROM certificate WHERE status = 'revoked'")" -eq "$REVOKE" ] ||
    fail "not $REVOKE certificates revoked"

# crls_exported N: the daemon has exported N CRLs.
crls_exported() {
	[ "$(q "SELECT count(*) FROM crl WHERE request_id IS NOT NULL AND exported IS NOT NULL")" -ge "$1" ]
}
# crl_approve N0 [NAME...]: the next CRL (the daemon's N0 + 1st) asked
# for and approved, from wherever a kill left it: the open request or a
# new one, then the approvals of NAME... (alice and bob) unless given.
crl_approve() {
	# One snapshot: how many are issued, and the latest request.
	set -- "$@" $(q "SELECT (SELECT count(*) FROM crl_request WHERE state = 'issued'),
	    id, state FROM crl_request ORDER BY id DESC LIMIT 1" | tr '|' ' ')
	before=$1; shift
	# The NAMEs given, then what the snapshot said.
	names=""
	while [ $# -gt 3 ]; do names="$names $1"; shift; done
	[ "$1" -le "$before" ] || return 0
	case $3 in
	pending-approval|approved) id=$2;;
	*)	expect_ok "$AIRLOCK" crl request --ca device-ca
		id=$(q "SELECT max(id) FROM crl_request");;
	esac
	for who in ${names:-alice bob}; do
		[ "$(q "SELECT state FROM crl_request WHERE id = $id")" = pending-approval ] || return 0
		officer_approve crl "$id" "$who" >"$W/approve.out" 2>&1 ||
		    grep -q "already gave a decision" "$W/approve.out" ||
		    { cat "$W/approve.out"; fail "crl approve $id $who"; }
	done
}
# crl_round N0: crl_approve N0, then the CRL signed and on the medium.
crl_round() {
	crl_approve "$1"
	wait_for 60 crls_exported $(($1 + 1))
}
# crl_phase: where the last CRL request stood when the daemon died.
crl_phase() {
	q "SELECT CASE
	    WHEN r.state = 'pending-approval' THEN 'awaiting approval'
	    WHEN r.state = 'approved' AND NOT EXISTS (SELECT 1 FROM crl_number n
	        WHERE n.request_id = r.id) THEN 'approved, not yet numbered'
	    WHEN r.state = 'approved' THEN 'numbered, being signed'
	    WHEN c.exported IS NULL THEN 'signed, being exported'
	    ELSE 'exported' END
	    FROM crl_request r LEFT JOIN crl c ON c.request_id = r.id
	    ORDER BY r.id DESC LIMIT 1"
}
# crl_checked N: CRL N of the device CA is on the medium, verifies with
# openssl and lists exactly the revoked serials.
crl_checked() {
	d=$(ls -d "$W"/media/outbox/crl-device-ca-"$1" "$W"/media/outbox/crl-device-ca-"$1".* 2>/dev/null |
	    while read -r x; do [ -f "$x/MANIFEST" ] && echo "$x"; done | head -n 1)
	[ -n "$d" ] || fail "CRL $1 is not on the medium"
	openssl crl -inform DER -in "$d/device-ca-$1.crl" -CAfile "$O/device-ca.pem" -noout -verify \
	    2>&1 | grep -q "verify OK" || fail "CRL $1 does not verify"
	q "SELECT serial FROM certificate WHERE status = 'revoked' ORDER BY serial" >"$W/revoked"
	python3 - "$d/device-ca-$1.crl" "$W/revoked" "$1" <<'PY'
import sys
from cryptography import x509
crl = x509.load_der_x509_crl(open(sys.argv[1], "rb").read())
got = sorted("%x" % r.serial_number for r in crl)
want = open(sys.argv[2]).read().split()
assert got == want, "CRL lists %d serials, the database %d revoked" % (len(got), len(want))
n = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
assert n == int(sys.argv[3]), n
PY
}

step "the CRL the revocation asked for, without a kill (it times the sequence)"
t0=$(now_ms)
crl_approve 0 alice
t1=$(now_ms)
crl_approve 0 bob
t2=$(now_ms)
crl_round 0
t3=$(now_ms)
span=$((t3 - t0)); bob=$((t2 - t1)); span_issue=$((t3 - t2))
last=$(q "SELECT max(number) FROM crl WHERE request_id IS NOT NULL")
crl_checked "$last"
echo "CRL $last: approvals to medium in $span ms; the second approval $bob ms, then $span_issue ms"

step "kill -9 at random points from CRL request to the medium"
# Odd rounds: anywhere from the request on; even rounds: once the second
# approval is in, where the number is taken, the CRL signed, exported.
round=0; cut=0
while [ "$round" -lt "$CRL_KILLS" ]; do
	round=$((round + 1))
	n0=$(q "SELECT count(*) FROM crl WHERE request_id IS NOT NULL")
	from=0; s=$span
	[ $((round % 2)) -eq 1 ] || { crl_approve "$n0" alice; from=$bob; s=$span_issue; }
	( crl_round "$n0" ) >"$W/round.out" 2>&1 &
	drv=$!
	next_rand
	sleep "$(awk -v r="$R" -v f="$from" -v s="$s" 'BEGIN { printf "%.3f\n", (f + 1.2 * r * s) / 1000 }')"
	crash_daemon
	# The driver stops waiting; the clients it started end on their own
	# (the daemon is gone): cutting an officer's token in mid-write is
	# no daemon crash, and SoftHSM loses the token.
	left=$(tree_pids "$drv")
	kill "$drv" 2>/dev/null || true
	wait "$drv" 2>/dev/null || true
	# shellcheck disable=SC2086
	gone 30 $left
	kills=$((kills + 1))
	phase=$(crl_phase)
	case $phase in numbered*|signed*) cut=$((cut + 1));; esac
	crash_checks
	restart
	crl_round "$n0"
	n=$(q "SELECT max(number) FROM crl WHERE request_id IS NOT NULL")
	[ "$n" -gt "$last" ] || fail "CRL number $n after $last"
	# A number taken by an attempt the kill cut is never used again
	# (store.c, crl_number): the next CRL has the one after it.
	[ "$n" -eq $((last + 1)) ] ||
	    echo "numbers $((last + 1)) to $((n - 1)) were taken by the cut attempt"
	crl_checked "$n"
	echo "CRL kill $round: $phase; then CRL $n verified"
	last=$n
done
lost=$(q "SELECT count(*) FROM crl_number n WHERE n.request_id IS NOT NULL AND
    NOT EXISTS (SELECT 1 FROM crl c WHERE c.ca_id = n.ca_id AND c.number = n.number)")
echo "$round kills from CRL request to medium, $cut while the CRL was numbered," \
    "signed or exported; $lost numbers taken by cut attempts"
# What failed without a kill (a step the worker tries again next cycle)
# says why a number may have gone unused besides a kill.
q "SELECT 'failed, tried again: ' || action || ': ' || details FROM audit_record
    WHERE outcome = 'failed' AND action IN ('crl-issue', 'batch-issue',
    'export-failed', 'crl-export', 'revocation-apply')"

step "at the end: the whole audit log verifies"
stop_daemon
crash_checks python
sed 's/^  group: 16$/  group: 0/' "$W/airlockd.yaml" >"$W/bad.yaml"
expect_fail "group" "$AIRLOCK_BUILD/bin/airlockd" --config "$W/bad.yaml" --check
[ "$(awk -F'\t' '$7 == "certificate-issued" && $9 ~ /batch=1 /' "$LOG" | wc -l)" -eq "$LINES" ] ||
    fail "the audit log does not hold one certificate-issued record per line"
echo "crash scenario passed in $(($(date +%s) - BEGAN)) s"
