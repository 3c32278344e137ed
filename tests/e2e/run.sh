#!/bin/sh
# Runs every end-to-end scenario (tests/e2e/t_*.sh) against the binaries in
# $AIRLOCK_BUILD/bin, each on a fresh SoftHSM token tree, and prints one
# summary line. A scenario that needs a missing tool is skipped with its
# reason. Usage: AIRLOCK_BUILD=/abs/build tests/e2e/run.sh [t_name.sh...]
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${AIRLOCK_BUILD:?set AIRLOCK_BUILD to the build directory}"
export AIRLOCK_BUILD AIRLOCK_SRC="$(cd "$here/../.." && pwd)"
logdir="$AIRLOCK_BUILD/tests/e2e"
mkdir -p "$logdir"
if [ $# -gt 0 ]; then scenarios="$*"; else scenarios=$(cd "$here" && ls t_*.sh); fi
passed=0; failed=0; skipped=0; failed_names=""
for s in $scenarios; do
	name=$(basename "$s" .sh)
	start=$(date +%s)
	sh "$here/$(basename "$s")" >"$logdir/$name.log" 2>&1
	rc=$?
	took=$(( $(date +%s) - start ))
	case $rc in
	0) passed=$((passed + 1)); echo "PASS: $name (${took}s)";;
	77) skipped=$((skipped + 1)); echo "SKIP: $name: $(tail -n 1 "$logdir/$name.log")";;
	*) failed=$((failed + 1)); failed_names="$failed_names $name"
	   echo "FAIL: $name (${took}s); last lines of $logdir/$name.log:"
	   tail -n 25 "$logdir/$name.log" | sed 's/^/    /';;
	esac
done
echo "e2e: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
