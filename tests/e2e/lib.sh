# lib.sh: shared by the end-to-end scenarios. Each scenario sources it,
# gets a private work directory and a fresh SoftHSM token tree, and uses
# the helpers below. A failed check exits non-zero with what was expected.
set -eu

: "${AIRLOCK_BUILD:?}" "${AIRLOCK_SRC:?}"
MODULE=/usr/lib/softhsm/libsofthsm2.so
W=$(mktemp -d "${TMPDIR:-/tmp}/airlock-e2e.XXXXXX")
trap '[ -n "${KEEP:-}" ] || rm -rf "$W"' EXIT
mkdir -p "$W/tokens" "$W/pins"
# The test machine is networked; an appliance is not. Ceremonies run in a
# network namespace with only lo (tools/offline.sh), so that their air-gap
# guard passes honestly, not overridden; the other commands need none.
mkdir -p "$W/bin"
cat >"$W/bin/airlock" <<SH
#!/bin/sh
case "\${1:-}" in
ceremony) exec "$AIRLOCK_SRC/tools/offline.sh" "$AIRLOCK_BUILD/bin/airlock" "\$@";;
*) exec "$AIRLOCK_BUILD/bin/airlock" "\$@";;
esac
SH
chmod 755 "$W/bin/airlock"
AIRLOCK="$W/bin/airlock"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
    "$W" >"$W/softhsm2.conf"
export SOFTHSM2_CONF="$W/softhsm2.conf"
# LeakSanitizer: SoftHSM keeps some singletons until exit on purpose.
export LSAN_OPTIONS="suppressions=$AIRLOCK_SRC/tests/lsan.supp:print_suppressions=0"

skip() { echo "$*"; exit 77; }
need() { command -v "$1" >/dev/null 2>&1 || skip "skipped: $1 is not installed"; }
fail() { echo "FAILED: $*"; exit 1; }
step() { echo "--- $*"; }

# new_token LABEL: a fresh token with a random PIN in $W/pins/LABEL (0600).
new_token() {
	pin=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
	softhsm2-util --init-token --free --label "$1" --so-pin "so-$pin" \
	    --pin "$pin" >/dev/null
	printf '%s\n' "$pin" >"$W/pins/$1"
	chmod 600 "$W/pins/$1"
}

# pin_args LABEL...: --pin options for these tokens' PIN files.
pin_args() {
	for l in "$@"; do printf -- '--pin %s=file:%s ' "$l" "$W/pins/$l"; done
}

# expect_ok CMD...: runs CMD, fails the scenario if it fails.
expect_ok() {
	if ! "$@" >"$W/last.out" 2>&1; then
		cat "$W/last.out"; fail "expected success: $*"
	fi
}

# expect_fail PATTERN CMD...: CMD must fail and print PATTERN (grep -E).
expect_fail() {
	pat=$1; shift
	if "$@" >"$W/last.out" 2>&1; then
		cat "$W/last.out"; fail "expected failure: $*"
	fi
	grep -Eq -- "$pat" "$W/last.out" || { cat "$W/last.out";
	    fail "failure message lacks '$pat': $*"; }
}

# Copies the shipped examples into the work dir, with the auditor's
# passphrase-protected key file that the enrolment needs.
examples() {
	cp -r "$AIRLOCK_SRC/ceremony/examples" "$W/examples"
	printf 'carol passphrase 42\n' >"$W/pins/carol"
	chmod 600 "$W/pins/carol"
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	    -aes-256-cbc -pass file:"$W/pins/carol" \
	    -out "$W/examples/people/carol.key.pem" 2>/dev/null
}

# count_objects LABEL: number of objects on a token (as its user).
count_objects() {
	pkcs11-tool --module "$MODULE" --token-label "$1" --login \
	    --pin "$(cat "$W/pins/$1")" --list-objects 2>/dev/null |
	    grep -c 'Object;' || true
}
