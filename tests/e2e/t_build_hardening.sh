#!/bin/sh
# The shipped binaries carry the hardening the build promises: PIE, full
# RELRO (GNU_RELRO and BIND_NOW), stack protector and _FORTIFY_SOURCE.
. "$(dirname "$0")/lib.sh"
need readelf
for b in airlock airlock-hsm; do
	f="$AIRLOCK_BUILD/bin/$b"
	step "$b"
	readelf -h "$f" | grep -q "Type:.*DYN" || fail "$b is not PIE"
	readelf -l "$f" | grep -q "GNU_RELRO" || fail "$b has no RELRO segment"
	readelf -d "$f" | grep -Eq "BIND_NOW|FLAGS.*NOW" || fail "$b is not BIND_NOW (full RELRO)"
	readelf -W --dyn-syms "$f" | grep -q "__stack_chk_fail" || fail "$b lacks the stack protector"
	readelf -W --dyn-syms "$f" | grep -Eq "__[a-z]+_chk" || fail "$b lacks fortified calls"
	if readelf -l "$f" | grep -A1 GNU_STACK | grep -q "RWE"; then fail "$b has an executable stack"; fi
done
step "only the helper links the PKCS#11 library"
readelf -d "$AIRLOCK_BUILD/bin/airlock-hsm" | grep -q "libp11" || fail "helper without libp11"
if readelf -d "$AIRLOCK_BUILD/bin/airlock" | grep -q "libp11"; then
	fail "airlock links libp11: the PKCS#11 module must load only in airlock-hsm"
fi
echo ok
