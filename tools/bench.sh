#!/bin/sh
# make bench: performance figures for the HSM layer, each printed next to
# the raw limit (the same token's signing rate) measured in the same run.
# Figures are informative; they are never thresholds and nothing here fails
# because a number is low. BENCH_SECONDS sets the seconds per figure.
set -eu
: "${AIRLOCK_BUILD:?set AIRLOCK_BUILD to the absolute build directory}"
export AIRLOCK_BUILD

command -v softhsm2-util >/dev/null 2>&1 || {
	echo "bench: softhsm2-util not found (install softhsm2, or run make deps)" >&2
	exit 1
}
for f in "$AIRLOCK_BUILD/bin/airlock-hsm" "$AIRLOCK_BUILD/bench/bench_hsm" \
    "$AIRLOCK_BUILD/bench/bench_signer" "$AIRLOCK_BUILD/bench/bench_crl"; do
	[ -x "$f" ] || { echo "bench: $f missing; build it first" >&2; exit 1; }
done

cpu=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo 2>/dev/null | head -n 1)
echo "== Airlock bench"
echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "nproc: $(nproc 2>/dev/null || echo unknown)"
echo "cpu: ${cpu:-unknown}"
echo "note: figures are informative only, never thresholds; compare ratios"
echo "      within one run, not absolute numbers across machines."
echo
echo "== HSM layer (bench_hsm)"
"$AIRLOCK_BUILD/bench/bench_hsm"
echo
echo "== Batch issuance (bench_signer; BENCH_LINES, BENCH_DEVICES, BENCH_BIG)"
"$AIRLOCK_BUILD/bench/bench_signer"
echo
echo "== CRL issuance (bench_crl; BENCH_CRL_ENTRIES, BENCH_CRL_CA)"
"$AIRLOCK_BUILD/bench/bench_crl"
echo
echo "== Audit log verification (bench_audit; BENCH_AUDIT_RECORDS)"
"$AIRLOCK_BUILD/bench/bench_audit"
