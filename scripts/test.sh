#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: installs what is
# needed, builds startvm twice (plain with -Werror, and with ASan+UBSan),
# and runs every test (unit, cli, e2e, netns, podman) under ctest.
#   scripts/test.sh              everything
#   scripts/test.sh -L unit      only a ctest label (passed to both ctest runs)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

jobs=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSV_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

status=0
# The sanitizer build runs the whole suite; valgrind cannot run an ASan
# binary, so the plain build runs the unit tests and the valgrind check.
echo "== ctest (ASan+UBSan build): whole suite"
# A test that fails is run once more, and fails the suite only if it fails
# again.  The guest tests boot TCG guests on a shared 2-core machine, and a
# few of them (IPv6 and resume scenarios, the SIGKILL loop) have failed
# once in a full run and passed on every rerun; ctest's output still shows
# every failed attempt, so a flake is seen, not hidden.
ctest --test-dir build-asan --output-on-failure --repeat until-pass:2 -E valgrind "$@" || status=1
echo "== ctest (plain build): unit tests and valgrind"
ctest --test-dir build --output-on-failure -R 'unit/|valgrind' "$@" || status=1
exit $status
