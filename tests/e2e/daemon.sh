# daemon.sh: sourced by the batch scenarios after lib.sh. Runs the RSA
# ceremony day (plus a second enrolment: frank, an operator with a key
# file, and gina, an officer with a key file), `airlock init`, and starts
# airlockd on a medium directory; helpers to wait for states and to stop.

ceremony_day() {
	examples
	for t in airlock-ca alice bob erin dave; do new_token $t; done
	E=$W/examples; O=$W/out
	for p in frank gina; do
		printf '%s passphrase 77\n' "$p" >"$W/pins/$p"; chmod 600 "$W/pins/$p"
		openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		    -aes-256-cbc -pass file:"$W/pins/$p" \
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
	# shellcheck disable=SC2086
	expect_ok "$AIRLOCK" ceremony run $PINS --out "$O" \
	    "$E/people/alice-key.yaml" "$E/people/bob-key.yaml" \
	    "$E/people/erin-key.yaml" "$E/people/dave-key.yaml" \
	    "$E/rsa/01-root.yaml" "$E/rsa/02-device-ca.yaml" \
	    "$E/rsa/03-people-ca.yaml" "$E/rsa/04-root-crl.yaml" \
	    "$E/rsa/05-enrol.yaml" "$E/rsa/06-appliance.yaml" \
	    "$E/rsa/07-enrol-extra.yaml"
	expect_ok "$AIRLOCK" init --state "$W/state" --ceremonies "$O"
	# Frank may submit to the DOCSIS 3.1 and TLS profiles too.
	mkdir -p "$W/policies"
	for f in "$AIRLOCK_SRC"/policies/*.yaml; do
		sed 's/^operators: \[Dave Example\]/operators: [Dave Example, Frank Example]/' \
		    "$f" >"$W/policies/$(basename "$f")"
	done
	cp -R "$AIRLOCK_SRC/policies/crl" "$W/policies/crl"
}

# start_daemon: airlockd on $W/media; DAEMON_CONFIG_EXTRA, when set, is
# appended to its configuration (a YAML line such as "user: nobody").
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
${DAEMON_CONFIG_EXTRA:-}
YAML
	"$AIRLOCK_BUILD/bin/airlockd" --config "$W/airlockd.yaml" \
	    >"$W/airlockd.log" 2>&1 &
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
# LOG results log.
csr_bundle() {
	mkdir -p "$W/$1/csr"
	for k in $(seq "$2"); do
		# ${5:+...}: the -addext pair only when san is asked for.
		openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		    -keyout "$W/$1/k$k.pem" -subj "/CN=${CSR_HOST:-gw}-$k.devices.example.com" \
		    ${5:+-addext} ${5:+"subjectAltName=DNS:${CSR_HOST:-gw}-$k.devices.example.com"} \
		    -out "$W/$1/csr/gw-$k.csr" 2>/dev/null
	done
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
  chain: $3
  results_log: $4
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
