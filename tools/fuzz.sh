#!/bin/sh
# Runs the libFuzzer targets built by `make fuzz-build` (build-fuzz/bin).
#
#   tools/fuzz.sh smoke [NAME...]
#       each target on its seed corpus plus 2,000 mutated inputs: the short
#       run `make check` does
#   tools/fuzz.sh run [SECONDS [NAME...]]
#       each target for SECONDS (default 60)
#
# NAME (csv, envelope, ...) picks targets; the default is every
# tests/fuzz/fuzz_NAME.c.
#
# Each target starts from tests/fuzz/corpus/NAME, which is only read: new
# inputs go to a fresh temporary corpus, removed afterwards. A crash, leak,
# sanitizer report or timeout fails the target; its input is kept as
# build-fuzz/artifacts/NAME-crash-... (or leak-, timeout-, oom-) and its log
# as build-fuzz/logs/NAME.log. One summary line `fuzz: N passed, M failed`;
# the exit status is non-zero when any target failed.
set -u
cd "$(dirname "$0")/.."

usage() {
	echo "usage: $0 smoke [NAME...] | run [SECONDS [NAME...]]" >&2
	exit 2
}

mode=${1:-}
[ $# -gt 0 ] && shift
build=${FUZZ_BUILD:-build-fuzz}
corpus=tests/fuzz/corpus

case $mode in
smoke) limit="-runs=2000" ;;
run)
	secs=${1:-60}
	[ $# -gt 0 ] && shift
	case $secs in
	''|*[!0-9]*) usage ;;
	esac
	limit="-max_total_time=$secs" ;;
*) usage ;;
esac

# The targets are the harness sources, so a binary left over from a
# removed harness is not run and a missing one is a failure.
if [ $# -eq 0 ]; then
	set -- tests/fuzz/fuzz_*.c
	[ -f "$1" ] || { echo "fuzz: no harnesses in tests/fuzz" >&2; exit 1; }
else
	for n in "$@"; do
		[ -f "tests/fuzz/fuzz_$n.c" ] ||
		    { echo "fuzz: no target $n (tests/fuzz/fuzz_$n.c)" >&2; exit 2; }
		set -- "$@" "tests/fuzz/fuzz_$n.c"
		shift
	done
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/airlock-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$scratch"' EXIT
trap 'exit 130' INT TERM
mkdir -p "$build/artifacts" "$build/logs"

# Leaks fail a target, as in check-asan; the same suppressions (PKCS#11
# modules only) apply. UBSan stops at the first report so libFuzzer sees
# it as a crash and keeps the input.
export LSAN_OPTIONS="suppressions=$(pwd)/tests/lsan.supp"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

passed=0; failed=0; failed_names=""
for src in "$@"; do
	name=${src##*/fuzz_}; name=${name%.c}
	bin="$build/bin/fuzz_$name"
	log="$build/logs/$name.log"
	mkdir -p "$scratch/$name"
	# -timeout: an input that takes this long is a hang to fix, not a
	# slow run; -rss_limit_mb catches a parser allocating without bound.
	# -print_final_stats gives the log a line of executions to report.
	if "$bin" $limit -max_len=65536 -timeout=25 -rss_limit_mb=2048 \
	    -print_final_stats=1 \
	    -artifact_prefix="$build/artifacts/$name-" \
	    "$scratch/$name" "$corpus/$name" >"$log" 2>&1; then
		passed=$((passed + 1))
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		echo "  FUZZ    $name: ok (${runs:-?} inputs)"
	else
		failed=$((failed + 1)); failed_names="$failed_names $name"
		echo "FAIL: $name (log $log; last lines follow)"
		tail -n 40 "$log"
	fi
	rm -rf "${scratch:?}/$name"
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ] || { echo "failed:$failed_names"; exit 1; }
