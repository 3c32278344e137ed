#!/bin/sh
# Runs each cmocka unit-test binary and prints one plain summary line.
# Usage: run-unit.sh BUILD_DIR TEST_BINARY...
set -u
build=$1; shift
passed=0; failed=0; failed_names=""
export AIRLOCK_BUILD="${AIRLOCK_BUILD:-$(cd "$build" && pwd)}"
for t in "$@"; do
	name=$(basename "$t")
	if "$t" >"$build/tests/$name.log" 2>&1; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1)); failed_names="$failed_names $name"
		echo "FAIL: $name (log follows)"; cat "$build/tests/$name.log"
	fi
done
echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ] || { echo "failed:$failed_names"; exit 1; }
