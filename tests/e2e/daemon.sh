# daemon.sh: sourced by the batch scenarios after lib.sh. Runs the RSA
# ceremony day (plus a second enrolment: frank, an operator with a key
# file, and gina, an officer with a key file), `airlock init`, and starts
# airlockd on a medium directory; helpers to wait for states and to stop.

# ceremony_day: ceremony_people, then ceremony_init.
ceremony_day() {
	ceremony_people
	ceremony_init
}

# ceremony_people: the ceremonies up to the enrolments. ENROL_MORE, when
# set, lists further people with key files for the second enrolment, as
# ID:ROLE or ID:ROLE:rsa (an RSA-2048 key instead of P-256); each is named
# "Id Example".
ceremony_people() {
	examples
	for t in airlock-ca alice bob erin dave; do new_token $t; done
	E=$W/examples; O=$W/out
	for spec in frank:operator gina:officer ${ENROL_MORE:-}; do
		p=${spec%%:*}
		printf '%s passphrase 77\n' "$p" >"$W/pins/$p"; chmod 600 "$W/pins/$p"
		case $spec in
		*:rsa) alg="-algorithm RSA -pkeyopt rsa_keygen_bits:2048" ;;
		*) alg="-algorithm EC -pkeyopt ec_paramgen_curve:P-256" ;;
		esac
		# shellcheck disable=SC2086
		openssl genpkey $alg -aes-256-cbc -pass file:"$W/pins/$p" \
		    -out "$E/people/$p.key.pem" 2>/dev/null
	done
	cat >"$E/rsa/07-enrol-extra.yaml" <<YAML
airlock_ceremony: 1
name: enrol-extra-2026
type: enrol
description: An operator and an officer with key files
hsm:
  module: $MODULE
  token: airlock-ca
present:
  - name: Alice Example
    role: ceremony officer
  - name: Bob Example
    role: ceremony officer
issuer:
  certificate: people-ca.pem
  key: people-ca-2026
certificate:
  subject:
    - C: US
    - O: Example Devices Inc
    - OU: Airlock
  validity:
    not_before: 2026-11-01T00:00:00Z
    not_after: 2028-11-01T00:00:00Z
  key_usage: [digitalSignature]
  basic_constraints:
    ca: false
people:
  - id: frank
    name: Frank Example
    role: operator
    key_file: ../people/frank.key.pem
  - id: gina
    name: Gina Example
    role: officer
    key_file: ../people/gina.key.pem
YAML
	PINS="$(pin_args airlock-ca alice bob erin dave) --pin carol=file:$W/pins/carol --pin frank=file:$W/pins/frank --pin gina=file:$W/pins/gina"
	for spec in ${ENROL_MORE:-}; do
		p=${spec%%:*}; role=${spec#*:}; role=${role%%:*}
		printf '  - id: %s\n    name: %s Example\n    role: %s\n    key_file: ../people/%s.key.pem\n' \
		    "$p" "$(printf '%s' "$p" | sed 's/./\U&/')" "$role" "$p" >>"$E/rsa/07-enrol-extra.yaml"
		PINS="$PINS --pin $p=file:$W/pins/$p"
	done
	# shellcheck disable=SC2086
	expect_ok "$AIRLOCK" ceremony run $PINS --out "$O" \
	    "$E/people/alice-key.yaml" "$E/people/bob-key.yaml" \
	    "$E/people/erin-key.yaml" "$E/people/dave-key.yaml" \
	    "$E/rsa/01-root.yaml" "$E/rsa/02-device-ca.yaml" \
	    "$E/rsa/03-people-ca.yaml" "$E/rsa/04-root-crl.yaml" \
	    "$E/rsa/05-enrol.yaml" "$E/rsa/06-appliance.yaml" \
	    "$E/rsa/07-enrol-extra.yaml"
}

# ceremony_init: `airlock init` from the ceremony directory, and the
# policies (Frank may submit to the DOCSIS 3.1 and TLS profiles too).
ceremony_init() {
	expect_ok "$AIRLOCK" init --state "$W/state" --ceremonies "$O"
	mkdir -p "$W/policies"
	for f in "$AIRLOCK_SRC"/policies/*.yaml; do
		sed 's/^operators: \[Dave Example\]/operators: [Dave Example, Frank Example]/' \
		    "$f" >"$W/policies/$(basename "$f")"
	done
	cp -R "$AIRLOCK_SRC/policies/crl" "$W/policies/crl"
}

# start_daemon: airlockd on $W/media; AIRLOCKD_YAML_EXTRA, when set, is appended
# to its configuration (YAML lines such as "activation: split-pin" or
# "user: nobody").
start_daemon() {
	mkdir -p "$W/media/inbox" "$W/media/outbox"
	cat >"$W/airlockd.yaml" <<YAML
airlockd: 1
state: $W/state
media: $W/media
policies: $W/policies
socket: $W/console.sock
console_users: [$(id -u)]
hsm:
  module: $MODULE
  token: airlock-ca
  sessions: 2
scan_interval_ms: 100
settle_ms: 50
require_mount: false
${AIRLOCKD_YAML_EXTRA:-}
network_guard: ${NETWORK_GUARD:-enforce}
YAML
	# In a network namespace with only lo (tools/offline.sh), so that
	# the air-gap guard passes honestly; AIRGAP_HOST=1 starts it in the
	# host's namespace instead (t_airgap.sh).
	if [ -n "${AIRGAP_HOST:-}" ]; then
		"$AIRLOCK_BUILD/bin/airlockd" --config "$W/airlockd.yaml" \
		    >"$W/airlockd.log" 2>&1 &
	else
		"$AIRLOCK_SRC/tools/offline.sh" "$AIRLOCK_BUILD/bin/airlockd" \
		    --config "$W/airlockd.yaml" >"$W/airlockd.log" 2>&1 &
	fi
	DAEMON_PID=$!
	trap 'kill $DAEMON_PID 2>/dev/null || true; wait $DAEMON_PID 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$W"' EXIT
	export AIRLOCK_SOCKET="$W/console.sock"
	i=0
	while [ ! -S "$W/console.sock" ]; do
		i=$((i + 1)); [ $i -lt 100 ] || { cat "$W/airlockd.log"; fail "airlockd did not start"; }
		sleep 0.1
	done
}

stop_daemon() {
	kill "$DAEMON_PID"
	wait "$DAEMON_PID" || fail "airlockd exited with an error: $(tail -n 5 "$W/airlockd.log")"
}

# crash_daemon: kill -9 for airlockd and every process it started (the
# HSM helpers; the role processes of a daemon split into several):
# killing only the first would leave children that still hold the
# database or the token open, which no power cut does. The state stays
# as the crash left it; the stale socket goes, as in t_revoke.
crash_daemon() {
	kill_tree "$DAEMON_PID"
	wait "$DAEMON_PID" 2>/dev/null || true
	rm -f "$W/console.sock"
}

# officer_approve KIND ID NAME: NAME (alice, bob, erin) approves KIND
# (revocation, crl, export) ID with their token.
officer_approve() {
	"$AIRLOCK" "$1" approve "$2" --token "pkcs11:token=$3;object=$3-2026" \
	    --module "$MODULE" --pin "file:$W/pins/$3" --cert "$O/$3.pem"
}

# role_pid ROLE: the pid of the daemon's child running --role ROLE.
role_pid() {
	for c in $(pgrep -P "$DAEMON_PID"); do
		if tr '\0' ' ' <"/proc/$c/cmdline" 2>/dev/null | grep -q -- "--role $1 "; then
			echo "$c"; return 0
		fi
	done
	return 1
}

# wait_for SECONDS CMD...: retries CMD until it succeeds.
wait_for() {
	t=$1; shift; i=0
	while ! "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -lt $((t * 10)) ] || { tail -n 30 "$W/airlockd.log"; fail "timed out waiting for: $*"; }
		sleep 0.1
	done
}

# batch_state ID STATE: the batch is in STATE.
batch_state() {
	"$AIRLOCK" batch show "$1" | grep -Eq "^  State: +$2( |$|:)"
}

# approve_token ID NAME: NAME (alice, bob, erin) approves batch ID with their token.
approve_token() {
	"$AIRLOCK" batch approve "$1" --token "pkcs11:token=$2;object=$2-2026" \
	    --module "$MODULE" --pin "file:$W/pins/$2" --cert "$O/$2.pem"
}

# csr_bundle NAME COUNT CHAIN LOG [san]: $W/NAME.cms, a tls-device CSR
# bundle made with stock zip and openssl cms and signed by frank (an
# operator with a key file): COUNT P-256 requests for
# gw-I.devices.example.com (CSR_HOST=NAME: NAME-I...) (keys in $W/NAME/kI.pem; with san, each names
# its host in a subjectAltName too), pem-zip output with chain CHAIN and a
# LOG results log. With CSR_MADE set, the requests already in $W/NAME/csr
# are taken as they are (COUNT is then not used).
csr_bundle() {
	mkdir -p "$W/$1/csr"
	[ -n "${CSR_MADE:-}" ] || for k in $(seq "$2"); do
		# ${5:+...}: the -addext pair only when san is asked for.
		openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		    -keyout "$W/$1/k$k.pem" -subj "/CN=${CSR_HOST:-gw}-$k.devices.example.com" \
		    ${5:+-addext} ${5:+"subjectAltName=DNS:${CSR_HOST:-gw}-$k.devices.example.com"} \
		    -out "$W/$1/csr/gw-$k.csr" 2>/dev/null
	done
	csr_pack "$1" "$3" "$4"
}

# csr_pack NAME CHAIN LOG: $W/NAME.cms from the requests in $W/NAME/csr/,
# as csr_bundle says.
csr_pack() {
	cat >"$W/$1/manifest.yaml" <<YAML
airlock_bundle: 1
kind: request
id: $(python3 -c 'import uuid; print(uuid.uuid4())')
created: $(date -u +%Y-%m-%dT%H:%M:%SZ)
batch:
  name: Gateways
profile: tls-device
input:
  mode: csr
  directory: csr/
output:
  format: pem-zip
  chain: $2
  results_log: $3
YAML
	(cd "$W/$1" && zip -q -X -r "../$1.zip" manifest.yaml csr)
	openssl cms -sign -binary -nodetach -md sha256 -in "$W/$1.zip" -outform DER \
	    -signer "$O/frank.pem" -inkey "$E/people/frank.key.pem" \
	    -passin "file:$W/pins/frank" -out "$W/$1.cms" || fail "openssl cms -sign"
}

# submit FILE NAME ID: FILE goes into inbox/ as NAME and is accepted as
# batch ID, waiting for approval.
submit() {
	cp "$1" "$W/media/inbox/$2"
	wait_for 20 batch_state "$3" pending-approval
}

# issued ID SECONDS: batch ID is signed within SECONDS and its export is
# on the medium; sets X to the export's directory.
issued() {
	wait_for "$2" batch_state "$1" completed
	wait_for 30 sh -c "ls '$W'/media/outbox/batch-$1-*/MANIFEST"
	X=$(dirname "$(ls "$W"/media/outbox/batch-"$1"-*/MANIFEST | head -n 1)")
}

# A self-signed RSA certificate to receive SMPB packages (the requester's).
recipient() {
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$W/recipient.key" \
	    -out "$W/recipient.pem" -subj "/CN=Factory recipient" -days 30 2>/dev/null
}

# raw_approval NAME KIND OBJECT DIGEST [badsig]: NAME (frank, gina: a key
# file) sends an approval statement over DIGEST with a hand-written
# client, as a console cannot (with badsig, its signature is spoiled);
# prints the daemon's reply.
raw_approval() {
	python3 - "$W/console.sock" "$E/people/$1.key.pem" "$W/pins/$1" "$O/$1.pem" \
	    "$2" "$3" "$4" "${5:-}" <<'PY'
import hashlib, socket, struct, sys, time
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
sock, keyf, passf, certf, kind, obj, digest, mode = sys.argv[1:]
pw = open(passf, "rb").read().rstrip(b"\n")
key = serialization.load_pem_private_key(open(keyf, "rb").read(), pw)
cert = x509.load_pem_x509_certificate(open(certf, "rb").read())
der = cert.public_bytes(serialization.Encoding.DER)
stmt = ("airlock-approval: 1\nkind: %s\nobject: %s\ndigest: %s\ndecision: approve\n"
        "reason:\nofficer: %s\ntime: %s\n") % (kind, obj, digest, hashlib.sha256(der).hexdigest(),
        time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
sig = bytearray(key.sign(stmt.encode(), ec.ECDSA(hashes.SHA256())))
if mode == "badsig":
    sig[-3] ^= 0x55
def field(k, v):
    return struct.pack("B", len(k)) + k.encode() + struct.pack(">I", len(v)) + v
body = b"".join([field("cmd", b"approve"), field("kind", kind.encode()), field("object", obj.encode()),
                 field("statement", stmt.encode()), field("signature", bytes(sig)), field("cert", der)])
s = socket.socket(socket.AF_UNIX); s.connect(sock)
s.sendall(struct.pack(">I", len(body)) + body)
print(s.recv(65536))
PY
}
