#!/usr/bin/env bash
# Every C file follows the repository's .clang-format.
set -u
src=${SV_SOURCE_DIR:?}
if ! command -v clang-format >/dev/null; then
  [ "${CI:-}" = true ] && { echo "FAIL: clang-format missing"; exit 1; }
  exit 77
fi
cd "$src"
mapfile -t files < <(git ls-files 'src/*.c' 'src/*.h' 'tests/*.c' 2>/dev/null || find src tests -name '*.[ch]')
bad=0
for f in "${files[@]}"; do
  [ -f "$f" ] || continue
  if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
    echo "not formatted: $f (run: clang-format -i $f)"
    bad=1
  fi
done
exit $bad
