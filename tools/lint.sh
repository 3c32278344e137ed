#!/bin/sh
# cppcheck over our own code; any finding fails the build. Third-party
# headers are not ours to lint, so system includes are not followed.
set -eu
cd "$(dirname "$0")/.."
command -v cppcheck >/dev/null || { echo "lint: cppcheck not installed"; exit 1; }
cppcheck --quiet --error-exitcode=1 --inline-suppr \
    --enable=warning,style,performance,portability \
    --suppress=missingIncludeSystem --suppress=unusedFunction \
    --std=c11 -D_GNU_SOURCE -I. -Iappliance \
    appliance hsm ceremony tests/unit tests/bench
echo "lint: cppcheck clean"
