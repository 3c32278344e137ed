#!/bin/sh
# Makes sure the Debian 12 packages Airlock needs are installed.
#
#   tools/deps.sh check   install what is missing (as root), or print the
#                         exact apt-get line and fail (as anyone else)
#
# Build: compiler, pkg-config and the -dev packages we link (libseccomp
# for the per-role system-call filters).
# Run and test: SoftHSMv2 (the HSM in tests and the demo), OpenSC's
# pkcs11-tool, GnuTLS certtool and Python's cryptography as independent
# checkers, sqlite3 to inspect state, cppcheck for `make lint`.
# Fuzzing: clang and its runtimes (libFuzzer, ASan, UBSan) for `make fuzz`
# and the smoke run in `make check`.
set -eu

PACKAGES="gcc make pkg-config libc6-dev
libssl-dev openssl libp11-dev libsqlite3-dev sqlite3 libyaml-dev libcmocka-dev
libzip-dev zip unzip libgfshare-dev libseccomp-dev
softhsm2 opensc gnutls-bin python3 python3-cryptography cppcheck
clang libclang-rt-14-dev"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

[ -z "$missing" ] && exit 0

echo "airlock: missing Debian packages:$missing"
if [ "$(id -u)" -ne 0 ]; then
	echo "airlock: run as root, or install them with:"
	echo "  apt-get update && apt-get install -y$missing"
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
echo "airlock: installed$missing"
