#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: installs what is
# needed, builds startvm twice (plain with -Werror, and with ASan+UBSan),
# and runs every test (unit, cli, e2e, netns, podman, manager, density,
# browser) under ctest, two at a time.
#   scripts/test.sh              everything but the soak label (< 15 min)
#   scripts/test.sh --soak       everything, the full-size soaks too
#   scripts/test.sh -L unit      only a ctest label (any ctest selection
#                                option is passed to both ctest runs)
#   scripts/test.sh -R '^e2e/boot_tiny$'
# A test that fails on its first try fails the run: nothing is run again.
# A skipped test fails the run under CI=true; elsewhere the last lines
# name every skipped test and why.
set -euo pipefail
cd "$(dirname "$0")/.."
soak=0
if [ "${1:-}" = --soak ]; then
  soak=1
  shift
fi
bash scripts/setup.sh

t0=$SECONDS
jobs=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSV_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"
echo "== built in $((SECONDS - t0)) s"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

select=()
[ "$soak" = 1 ] || select=(-LE soak)
status=0
failed=()
skipped=()
# The output is kept (ctest.out in the build directory) for the summary;
# pipefail gives the pipeline ctest's status.
run_ctest() { # NAME BUILD-DIR ARGS...
  local name=$1 dir=$2 t=$SECONDS rc=0 test reason
  shift 2
  echo "== ctest ($name)"
  ctest --test-dir "$dir" -j"$jobs" --no-tests=error --output-on-failure "$@" 2>&1 |
    tee "$dir/ctest.out" || rc=$?
  echo "== ctest ($name): exit $rc after $((SECONDS - t)) s"
  [ "$rc" = 0 ] || status=1
  # ctest's own list of failures, and every skipped test with the line it
  # gave as its reason (from Testing/Temporary/LastTest.log).
  while read -r test; do
    failed+=("$dir: $test")
  done < <(sed -n '/(Skipped)$/d; s/^\t *[0-9]* - \(.*\)$/\1/p' "$dir/ctest.out")
  while read -r test; do
    reason=$(awk -v t="$test" '
      $0 ~ "^[0-9]+/[0-9]+ Testing: " { on = ($3 == t) }
      on && /SKIP/ { sub(/^.*SKIP: */, ""); print; exit }' "$dir/Testing/Temporary/LastTest.log")
    skipped+=("$dir: $test: ${reason:-no reason given}")
  done < <(sed -n 's/^ *[0-9]*\/[0-9]* Test *#[0-9]*: \([^ ]*\) .*\*\*\*Skipped.*/\1/p' "$dir/ctest.out")
}

# The sanitizer build runs the whole suite; valgrind cannot run an ASan
# binary, so the plain build runs the unit tests and the valgrind check.
run_ctest "ASan+UBSan build: whole suite" build-asan -E valgrind "${select[@]}" "$@"
run_ctest "plain build: unit tests and valgrind" build -R 'unit/|valgrind' "${select[@]}" "$@"

if ((${#failed[@]})); then
  echo "== failed on their first and only try (${#failed[@]}):"
  printf '   %s\n' "${failed[@]}"
fi
if ((${#skipped[@]})); then
  echo "== skipped (${#skipped[@]}):"
  printf '   %s\n' "${skipped[@]}"
  if [ "${CI:-}" = true ]; then
    echo "== a skipped test fails the run under CI=true"
    status=1
  fi
fi
echo "== scripts/test.sh: exit $status after $((SECONDS - t0)) s"
exit $status
