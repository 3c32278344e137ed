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

# tree_pids PID: PID and every process below it, one per line.
tree_pids() {
	ps -e -o pid= -o ppid= | awk -v root="$1" '
	    { parent[$1] = $2 }
	    END {
		tree[root] = 1
		do {
			grew = 0
			for (p in parent)
				if (!(p in tree) && (parent[p] in tree)) {
					tree[p] = 1; grew = 1
				}
		} while (grew)
		for (p in tree) print p
	    }'
}

# kill_tree PID: kill -9 for PID and every process below it, as a power
# cut would. The tree is stopped first: a stopped process cannot fork,
# and its children are not handed to init before the kill, so none
# escapes between the listing and the kill. Returns once all are gone.
kill_tree() {
	pids=$(tree_pids "$1")
	# shellcheck disable=SC2086
	kill -STOP $pids 2>/dev/null || true
	pids=$(tree_pids "$1")	# any child forked before its parent stopped
	# shellcheck disable=SC2086
	kill -STOP $pids 2>/dev/null || true
	# shellcheck disable=SC2086
	kill -KILL $pids 2>/dev/null || true
	# shellcheck disable=SC2086
	gone 5 $pids
}

# gone SECONDS PID...: waits until none of the PIDs runs any more (a
# zombie holds no file or lock), or fails.
gone() {
	t=$1; shift
	for p in "$@"; do
		i=0
		while [ -d "/proc/$p" ] && ! grep -q '^State:.*Z' "/proc/$p/status" 2>/dev/null; do
			i=$((i + 1)); [ $i -lt $((t * 20)) ] || fail "process $p is still running"
			sleep 0.05
		done
	done
}
