#!/usr/bin/env bash
# The plan stays pure: the objects of src/plan/ and src/handoff.c may call
# only the functions below (string and memory functions, and startvm's own
# pure helpers), never one that does I/O or reads the clock, the
# environment or randomness.  A new call that is neither here nor wanted
# fails this test with its name; add it here only if it is pure.
. "$SV_SOURCE_DIR/tests/lib/common.sh"
need nm
allowed=(
  # libc: memory, strings, formatting into buffers
  __ctype_b_loc free memcmp memcpy memmove memset qsort snprintf strchr strcmp strcspn strlen
  strncmp strndup strnlen strpbrk strrchr strspn strstr strtok_r strtol strtoll strtoul strtoull
  vsnprintf __stack_chk_fail __assert_fail
  # base/util.c, base/io.c (allocation only), base/error.c, base/ip6.c
  sv_buf_add sv_buf_add_escaped sv_buf_add_json_string sv_buf_add_shell_word sv_buf_addc
  sv_buf_addf sv_buf_addn sv_buf_free sv_buf_steal sv_strv_add sv_strv_addf sv_strv_free
  sv_strv_free_raw sv_xcalloc sv_xmalloc sv_xrealloc sv_xstrdup sv_xasprintf sv_xvasprintf
  sv_error_config sv_error_make sv_error_wrap sv_utf8_seq_len sv_parse_int sv_format_duration
  sv_ip4_format sv_ip4_netmask sv_ip4_parse sv_mac_format sv_mac_parse
  sv_ip6_format sv_ip6_is_link_local sv_ip6_is_loopback sv_ip6_is_zero sv_ip6_mask
  sv_ip6_parse sv_ip6_same_net
  # config/cfg_schema.c: a string comparison; config/config.c: a message
  # from the configuration's values
  sv_machine_is_q35 sv_vm_config_warning
)
objdir=$SV_BINARY_DIR/CMakeFiles/sv_core.dir/src
objs=("$objdir/handoff.c.o")
defined=()
for src in "$SV_SOURCE_DIR"/src/plan/*.c; do
  objs+=("$objdir/plan/$(basename "$src").o")
done
for o in "${objs[@]}"; do
  [ -f "$o" ] || fail "no object $o (build first)"
  # What the plan files define for each other is theirs.
  mapfile -t -O "${#defined[@]}" defined < <(nm --defined-only "$o" | awk '$2 ~ /[TDBR]/ {print $3}')
done
bad=$(nm -u "${objs[@]}" | awk 'NF == 2 {print $2}' | sort -u |
  grep -v -x -F -f <(printf '%s\n' "${allowed[@]}" "${defined[@]}") |
  grep -v -E '^__(asan|ubsan|sanitizer|lsan)_' || true)
[ -z "$bad" ] || fail "the plan calls functions that are not known to be pure: $(echo $bad)"
info "ok: ${#objs[@]} objects, only pure calls"
