#!/usr/bin/env bash
# vm.yaml files that cannot be used: a directory, an unreadable file, a
# 10 MB file (refused from its size, without being read), a missing named
# file.  Each: exit 2, the path named, nothing written.
. "$SV_SOURCE_DIR/tests/lib/common.sh"
. "$SV_SOURCE_DIR/tests/lib/config.sh"
cfg_setup

# A directory.
mkdir "$SV_TMP/dir.yaml"
expect_refused "$SV_TMP/dir.yaml: is a directory, not a config file" "$SV_TMP/dir.yaml"

# A missing --config file.
expect_refused "$SV_TMP/missing.yaml: cannot open config file: No such file or directory" "$SV_TMP/missing.yaml"
expect_refused "$SV_TMP/nodir/vm.yaml: cannot open config file: No such file or directory" "$SV_TMP/nodir/vm.yaml"

# A 10 MB file: refused from its size; the config is never read.
head -c 10000000 /dev/zero | tr '\0' '#' >"$SV_TMP/big.yaml"
expect_refused "$SV_TMP/big.yaml: config file is too large (10000000 bytes; the limit is 1048576)" "$SV_TMP/big.yaml"
ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0" strace -qq -o "$SV_TMP/reads" -e trace=openat,read,close "$STARTVM" --config "$SV_TMP/big.yaml" --check 2>/dev/null
# Reads on the config's fd between its open and its close.
reads=$(awk '/openat\(.*big\.yaml"/ { fd = $NF; next }
             fd != "" && $0 ~ "^close\\(" fd "\\)" { fd = ""; next }
             fd != "" && $0 ~ "^read\\(" fd "," { print }' "$SV_TMP/reads")
grep -q 'big\.yaml' "$SV_TMP/reads" || fail "strace did not show the config being opened"
[ -z "$reads" ] || fail "the 10 MB file was read: $(echo "$reads" | head -2)"

# The same through a pipe (no size to look at): at most 1 MiB + 1 is read.
out=$("$STARTVM" --config <(head -c 10000000 /dev/zero | tr '\0' '#') --check 2>&1)
rc=$?
[ $rc = 2 ] || fail "10 MB through a pipe: exit $rc, expected 2 ($out)"
[[ "$out" =~ ^startvm:\ /dev/fd/[0-9]+:\ config\ file\ is\ too\ large\ \(more\ than\ 1048576\ bytes\)$ ]] ||
  fail "10 MB through a pipe: wrong message: $out"

# An unreadable file.  Root reads anything (CAP_DAC_OVERRIDE), so as root
# startvm runs as nobody through setpriv; mode 000 then really is EACCES.
printf 'cpus: 2\nstate_dir: %s\n' "$STATE" >"$SV_TMP/secret.yaml"
chmod 000 "$SV_TMP/secret.yaml"
chmod 755 "$SV_TMP"
if [ "$(id -u)" = 0 ]; then
  need setpriv
  wrap=(setpriv --reuid=65534 --regid=65534 --clear-groups)
  "${wrap[@]}" test -x "$STARTVM" || skip "nobody cannot execute $STARTVM"
else
  wrap=()
fi
work=$(mktemp -d "$SV_TMP/cwd.XXXXXX")
chmod 777 "$work"
out=$(cd "$work" && "${wrap[@]}" "$STARTVM" --config "$SV_TMP/secret.yaml" --check 2>&1 >/dev/null)
rc=$?
[ $rc = 2 ] || fail "unreadable: exit $rc, expected 2 ($out)"
assert_eq "startvm: $SV_TMP/secret.yaml: cannot open config file: Permission denied" "$out" "unreadable file"
[ -z "$(ls -A "$work")" ] || fail "unreadable: created files in its cwd"
[ ! -e "$STATE" ] || fail "unreadable: created the state_dir"
# An unreadable *default* path is an error too (only a missing one is fine).
out=$(cd "$work" && "${wrap[@]}" env RANCHERVM_CONFIG= "$STARTVM" --config "$SV_TMP/secret.yaml" --dry-run 2>&1 >/dev/null)
[ $? = 2 ] || fail "unreadable with --dry-run: not exit 2 ($out)"
info "ok: unreadable file (as ${wrap[*]:-$(id -un)})"
