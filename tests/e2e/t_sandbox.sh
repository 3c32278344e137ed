#!/bin/sh
# The sandbox end to end: airlockd's store and ingest roles and every
# airlock-hsm helper run with no_new_privs and a seccomp filter, and so
# does the parent (/proc/PID/status), a batch
# still signs under them, running as root is warned about and audited, a
# bad `user:` stops the start, and with `user: nobody` the daemon and its
# helpers run as nobody and still sign.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
need openssl; need zip; need python3

# status_of PID FIELD: the value column(s) of FIELD in /proc/PID/status.
status_of() {
	sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status"
}

# sandboxed PID WHAT: PID runs with no_new_privs and a seccomp filter.
sandboxed() {
	[ "$(status_of "$1" Seccomp)" = 2 ] || fail "$2 (pid $1) has Seccomp $(status_of "$1" Seccomp), not 2"
	[ "$(status_of "$1" NoNewPrivs)" = 1 ] || fail "$2 (pid $1) has NoNewPrivs $(status_of "$1" NoNewPrivs), not 1"
}

# helpers_of PID: the airlock-hsm processes PID started.
helpers_of() {
	for s in /proc/[0-9]*/status; do
		[ "$(sed -n 's/^PPid:[[:space:]]*//p' "$s" 2>/dev/null)" = "$1" ] || continue
		[ "$(sed -n 's/^Name:[[:space:]]*//p' "$s" 2>/dev/null)" = airlock-hsm ] || continue
		p=${s#/proc/}; echo "${p%/status}"
	done
}

# signs ID NAME: a CSR bundle NAME of two requests becomes batch ID,
# is approved by alice and bob, and is signed and exported.
signs() {
	CSR_HOST=$2 csr_bundle "$2" 2 with-root-and-intermediate json
	submit "$W/$2.cms" "$2.cms" "$1"
	expect_ok approve_token "$1" alice
	expect_ok approve_token "$1" bob
	issued "$1" 120
	"$AIRLOCK" batch results "$1" --format json | python3 -c '
import json, sys
r = json.load(sys.stdin)
assert len(r) == 2 and all(x["status"] == "ISSUED" for x in r), r' ||
	    fail "batch $1 did not issue both certificates"
}

# roles_sandboxed: the parent, the store and the ingest role each under
# its filter; sets STORE and INGEST.
roles_sandboxed() {
	wait_for 10 role_pid store
	wait_for 10 role_pid ingest
	STORE=$(role_pid store); INGEST=$(role_pid ingest)
	sandboxed "$DAEMON_PID" "the parent"
	sandboxed "$STORE" "the store role"
	sandboxed "$INGEST" "the ingest role"
}

# checked_helpers: the running daemon's helpers, each sandboxed; sets H.
checked_helpers() {
	H=$(helpers_of "$STORE")
	[ -n "$H" ] || fail "no airlock-hsm helper under airlockd after activation"
	for h in $H; do sandboxed "$h" "airlock-hsm"; done
}

ceremony_day

step "a bad user: stops the start, naming the user"
mkdir -p "$W/media/inbox" "$W/media/outbox"
cat >"$W/bad.yaml" <<YAML
airlockd: 1
state: $W/state
media: $W/media
policies: $W/policies
socket: $W/bad.sock
hsm:
  module: $MODULE
  token: airlock-ca
require_mount: false
user: no-such-airlock-user
YAML
expect_fail "no user named 'no-such-airlock-user'" "$AIRLOCK_BUILD/bin/airlockd" --config "$W/bad.yaml" --check
sed -i 's/^user: .*/user: root/' "$W/bad.yaml"
expect_fail "user 'root' is root" "$AIRLOCK_BUILD/bin/airlockd" --config "$W/bad.yaml" --check

step "airlockd is sandboxed once it serves"
start_daemon
roles_sandboxed
[ -z "$(helpers_of "$STORE")" ] || fail "helpers before activation"

step "root without user: is loud and audited"
if [ "$(id -u)" = 0 ]; then
	grep -q "WARNING: running as root" "$W/airlockd.log" || fail "no warning about root"
	wait_for 10 grep -q "event daemon-as-root" "$W/airlockd.log"
fi

step "activation: every helper is sandboxed; a batch signs"
expect_fail "wrong PIN|PIN" sh -c "printf 'wrong\n' | '$AIRLOCK' activate --pin fd:0"
kill -0 "$STORE" || fail "a wrong PIN killed the store role"
expect_ok "$AIRLOCK" activate --pin "file:$W/pins/airlock-ca"
checked_helpers
signs 1 one
roles_sandboxed
for h in $H; do kill -0 "$h" || fail "helper $h died while signing"; done
stop_daemon

if [ "$(id -u)" != 0 ]; then
	echo "not root: the user: nobody part needs root and is left out"
	exit 0
fi

step "user: nobody: the daemon and its helpers run as nobody and sign"
NOBODY=$(id -u nobody)
# What nobody must reach: the work directory (the socket lives there),
# the state, the medium and SoftHSM's tokens.
chmod 755 "$W"
chown nobody "$W"
chown -R nobody "$W/state" "$W/media" "$W/tokens"
AIRLOCKD_YAML_EXTRA="user: nobody" start_daemon
roles_sandboxed
for p in "$DAEMON_PID" "$STORE" "$INGEST"; do
	[ "$(status_of "$p" Uid | awk '{print $1 $2 $3 $4}')" = "$NOBODY$NOBODY$NOBODY$NOBODY" ] ||
	    fail "airlockd process $p runs as uid $(status_of "$p" Uid), not nobody's $NOBODY"
	[ "$(status_of "$p" Gid | awk '{print $1}')" = "$(id -g nobody)" ] ||
	    fail "airlockd process $p runs as gid $(status_of "$p" Gid)"
done
grep -q "running as root" "$W/airlockd.log" && fail "warned about root while running as nobody"
expect_ok "$AIRLOCK" activate --pin "file:$W/pins/airlock-ca"
checked_helpers
for h in $H; do
	[ "$(status_of "$h" Uid | awk '{print $1}')" = "$NOBODY" ] || fail "helper $h is not nobody's"
done
signs 2 two
[ "$(stat -c %u "$W/state/airlock.db")" = "$NOBODY" ] || fail "the database is not nobody's"
stop_daemon
echo "sandbox scenario passed"
