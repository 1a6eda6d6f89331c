#!/usr/bin/env bash
# Bad YAML in vm.yaml: exit 2, a message with file:line:column, nothing
# written.  (Issue 2, "Bad input".)
. "$SV_SOURCE_DIR/tests/lib/common.sh"
. "$SV_SOURCE_DIR/tests/lib/config.sh"
cfg_setup
c=$SV_TMP/vm.yaml
w() { printf "state_dir: $STATE\n$1" >"$c"; }

w 'memory: [1G, 2G\ncpus: 2\n'
expect_refused "$c:3:5: invalid YAML: did not find expected ',' or ']' (while parsing a flow sequence at line 2, column 9)" "$c"

w 'memory: 1G\n  cpus: 2\n'
expect_refused "$c:3:7: invalid YAML: mapping values are not allowed in this context" "$c"

w 'network:\n\tdhcp: false\n'
expect_refused "$c:3:1: tabs are not allowed for indentation (indent with spaces)" "$c"

w 'network:\n  dhcp: false\n  \twait: 6s\n'
expect_refused "$c:4:3: tabs are not allowed for indentation (indent with spaces)" "$c"

w 'cpus: 1\nmemory: 1G\ncpus: 2\n'
expect_refused "$c:4:1: duplicate key 'cpus' (first at line 2, column 1)" "$c"

w 'network:\n  dhcp: true\n  dhcp: false\n'
expect_refused "$c:4:3: duplicate key 'dhcp' (first at line 3, column 3)" "$c"

# The alias bomb ("billion laughs"): refused at the first anchor, at once.
{
  echo "state_dir: $STATE"
  echo 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'
  for x in b c d e f g h i; do
    p=$(printf '%s' "$x" | tr 'b-i' 'a-h')
    echo "$x: &$x [*$p,*$p,*$p,*$p,*$p,*$p,*$p,*$p,*$p]"
  done
} >"$c"
expect_refused "$c:2:4: anchors and aliases are not supported (&a): write the value out" "$c"

w 'qemu:\n  extra_args: *args\n'
expect_refused "$c:3:15: anchors and aliases are not supported (*args): write the value out" "$c"

printf 'state_dir: %s\nname: caf\xe9\n' "$STATE" >"$c"
off=$(($(printf 'state_dir: %s\nname: caf' "$STATE" | wc -c)))
expect_refused "$c:2:10: not valid UTF-8 (byte 0xe9 at offset $off); save the file as UTF-8" "$c"

w '- memory: 1G\n'
expect_refused "$c:2:1: invalid YAML: did not find expected key (while parsing a block mapping at line 1, column 1)" "$c"

printf -- '- a\n- b\n' >"$c"
expect_refused "$c:1:1: the top level must be a map of keys such as 'memory: 2G', not a list" "$c"

printf 'just words\n' >"$c"
expect_refused "$c:1:1: the top level must be a map of keys such as 'memory: 2G', not a single value" "$c"

w 'cpus: 1\n---\ncpus: 2\n'
expect_refused "$c:3:1: only one YAML document is allowed (remove the second '---')" "$c"

{ printf 'state_dir: %s\na: ' "$STATE"; for i in $(seq 40); do printf '['; done; for i in $(seq 40); do printf ']'; done; echo; } >"$c"
expect_refused "$c:2:35: nesting is deeper than 32 levels" "$c"

# Empty and comment-only files are valid (every default applies).
: >"$c"
expect_valid "$c"
printf '# nothing here yet\n\n' >"$c"
expect_valid "$c"
