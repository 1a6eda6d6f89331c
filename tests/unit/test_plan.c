/* The planner: bridge address rule over every prefix, MAC derivation, the
 * QEMU argv (accelerator, consoles, escaping), the handoff steps and the
 * dnsmasq.conf (checked by dnsmasq --test itself). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four above first */
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "handoff.h"
#include "plan.h"
#include "test_plan_fixtures.h"

/* ---- helpers ---- */

static struct sv_plan
build_ok (const struct sv_vm_config *cfg, const struct sv_host *host, char *const *extra)
{
  struct sv_plan p;
  sv_error_t err = NULL;
  int r = sv_plan_build (cfg, host, extra, &p, &err);
  if (r < 0)
    fail_msg ("sv_plan_build: %s", err ? err->msg : "?");
  assert_null (err);
  return p;
}

/* Index of the first argv element equal to s, or -1. */
static int
argv_find (const struct sv_plan *p, const char *s)
{
  for (size_t i = 0; i < p->qemu_argc; i++)
    if (strcmp (p->qemu_argv[i], s) == 0)
      return (int)i;
  return -1;
}

/* The value after option opt (first occurrence). */
static const char *
argv_value (const struct sv_plan *p, const char *opt)
{
  int i = argv_find (p, opt);
  if (i < 0 || (size_t)i + 1 >= p->qemu_argc)
    return NULL;
  return p->qemu_argv[i + 1];
}

static size_t
argv_count (const struct sv_plan *p, const char *s)
{
  size_t n = 0;
  for (size_t i = 0; i < p->qemu_argc; i++)
    n += strcmp (p->qemu_argv[i], s) == 0;
  return n;
}

static bool
contains_line (const char *text, const char *line)
{
  size_t n = strlen (line);
  for (const char *p = text; (p = strstr (p, line)); p++)
    if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
      return true;
  return false;
}

static void
expect_line (const char *text, const char *line)
{
  if (!contains_line (text, line))
    fail_msg ("missing line '%s' in:\n%s", line, text);
}

static void
expect_no_line (const char *text, const char *line)
{
  if (contains_line (text, line))
    fail_msg ("unexpected line '%s' in:\n%s", line, text);
}

/* ---- bridge address rule ---- */

static void
check_bridge (uint32_t vm, unsigned prefix, uint32_t gw)
{
  uint8_t bp = 99;
  uint32_t br = sv_plan_bridge_addr (vm, (uint8_t)prefix, gw, &bp);
  char a[16], b[16], g[16];
  sv_ip4_format (vm, a);
  sv_ip4_format (br, b);
  sv_ip4_format (gw, g);
  if (bp < 1 || bp > 31)
    fail_msg ("%s/%u gw %s: bridge prefix %u", a, prefix, g, bp);
  if (br == vm)
    fail_msg ("%s/%u gw %s: bridge equals the VM address", a, prefix, g);
  if (gw != 0 && br == gw)
    fail_msg ("%s/%u gw %s: bridge equals the gateway", a, prefix, g);
  if ((br >> 24) == 0 || (br >> 24) == 127 || (br >> 29) == 7)
    fail_msg ("%s/%u gw %s: bridge %s is not a unicast host address", a, prefix, g, b);
  /* dnsmasq matches the range when both share the /bp network. */
  uint32_t m = sv_ip4_netmask (bp);
  if ((br & m) != (vm & m))
    fail_msg ("%s/%u gw %s: bridge %s/%u not in the VM's /%u network", a, prefix, g, b, bp, bp);
  /* No host on the VM's own subnet can have it (ARP). */
  uint32_t vm_mask = sv_ip4_netmask (prefix);
  if (prefix >= 2 && (br & vm_mask) == (vm & vm_mask))
    fail_msg ("%s/%u gw %s: bridge %s/%u inside the VM's subnet", a, prefix, g, b, bp);
}

static uint32_t
lcg (uint32_t *s)
{
  *s = *s * 1664525u + 1013904223u;
  return *s;
}

static void
test_bridge_addr_all_prefixes (void **state)
{
  uint32_t seed = 42;
  for (unsigned prefix = 1; prefix <= 32; prefix++)
    {
      uint32_t mask = sv_ip4_netmask (prefix);
      uint32_t addrs[64];
      size_t n = 0;
      addrs[n++] = SV_IP4 (172, 17, 0, 2);
      addrs[n++] = SV_IP4 (10, 244, 1, 17);
      addrs[n++] = SV_IP4 (192, 168, 10, 23);
      addrs[n++] = SV_IP4 (0, 0, 0, 1);
      addrs[n++] = SV_IP4 (0, 0, 0, 2);
      addrs[n++] = SV_IP4 (0, 0, 0, 3);
      addrs[n++] = SV_IP4 (255, 255, 255, 254);
      addrs[n++] = SV_IP4 (255, 255, 255, 253);
      addrs[n++] = SV_IP4 (128, 0, 0, 0);
      addrs[n++] = SV_IP4 (127, 255, 255, 255);
      addrs[n++] = SV_IP4 (169, 254, 1, 1);
      addrs[n++] = SV_IP4 (169, 254, 1, 0);
      uint32_t base = SV_IP4 (172, 17, 0, 2) & mask;
      addrs[n++] = base;               /* network address */
      addrs[n++] = base | ~mask;       /* broadcast address */
      addrs[n++] = (base | ~mask) - 1; /* last host */
      addrs[n++] = base + 1;           /* first host */
      addrs[n++] = SV_IP4 (255, 255, 255, 255) & mask;
      addrs[n++] = ~mask; /* 0.0.0.0-network broadcast */
      while (n < 64)
        addrs[n++] = lcg (&seed);
      for (size_t i = 0; i < n; i++)
        {
          uint32_t vm = addrs[i];
          if (vm == 0 || vm == 0xffffffffu)
            continue;
          uint32_t net = vm & mask;
          uint32_t bc = net | ~mask;
          uint8_t bp;
          uint32_t first = sv_plan_bridge_addr (vm, (uint8_t)prefix, 0, &bp);
          uint32_t gws[] = {
            0,
            net + 1,                    /* the usual .1 */
            bc - 1,                     /* a gateway at the top */
            vm ^ 1,                     /* the /31 peer */
            SV_IP4 (169, 254, 1, 1),    /* Calico */
            first,                      /* the first candidate itself */
            vm ^ (1u << (32 - prefix)), /* the sibling */
            lcg (&seed),
          };
          for (size_t g = 0; g < sizeof gws / sizeof gws[0]; g++)
            if (gws[g] != vm)
              check_bridge (vm, prefix, gws[g]);
        }
    }
}

static void
test_bridge_addr_known_values (void **state)
{
  uint8_t bp;
  char s[16];
  /* Docker /16: the original's rule, which was right for /16. */
  assert_string_equal (
      sv_ip4_format (sv_plan_bridge_addr (SV_IP4 (172, 17, 0, 2), 16, SV_IP4 (172, 17, 0, 1), &bp),
                     s),
      "172.16.0.2");
  assert_int_equal (bp, 15);
  /* /24: the sibling /24, bridge /23. */
  assert_string_equal (
      sv_ip4_format (
          sv_plan_bridge_addr (SV_IP4 (192, 168, 10, 23), 24, SV_IP4 (192, 168, 10, 1), &bp), s),
      "192.168.11.23");
  assert_int_equal (bp, 23);
  /* Calico /32 with 169.254.1.1: the /31 neighbour. */
  assert_string_equal (
      sv_ip4_format (
          sv_plan_bridge_addr (SV_IP4 (10, 244, 1, 17), 32, SV_IP4 (169, 254, 1, 1), &bp), s),
      "10.244.1.16");
  assert_int_equal (bp, 31);
  /* The gateway is the first candidate: the next bit. */
  assert_string_equal (
      sv_ip4_format (sv_plan_bridge_addr (SV_IP4 (10, 0, 0, 4), 32, SV_IP4 (10, 0, 0, 5), &bp), s),
      "10.0.0.6");
  assert_int_equal (bp, 30);
  /* ... and when that one is the /30's broadcast address, the one after. */
  assert_string_equal (
      sv_ip4_format (sv_plan_bridge_addr (SV_IP4 (10, 0, 0, 5), 32, SV_IP4 (10, 0, 0, 4), &bp), s),
      "10.0.0.1");
  assert_int_equal (bp, 29);
  /* /31 whose sibling would be a /30 broadcast address: skipped. */
  sv_plan_bridge_addr (SV_IP4 (10, 0, 0, 1), 31, SV_IP4 (10, 0, 0, 0), &bp);
  assert_int_equal (bp, 29);
  /* /2 whose sibling /2 is multicast (236.x): a unicast address of the
   * VM's /1 outside its /2, and not the gateway either. */
  assert_string_equal (sv_ip4_format (sv_plan_bridge_addr (SV_IP4 (172, 17, 0, 2), 2, 0, &bp), s),
                       "204.17.0.2");
  assert_int_equal (bp, 1);
  assert_string_equal (
      sv_ip4_format (sv_plan_bridge_addr (SV_IP4 (172, 17, 0, 2), 2, SV_IP4 (204, 17, 0, 2), &bp),
                     s),
      "204.17.0.3");
  assert_int_equal (bp, 1);
  /* /8 next to loopback: not 127.x. */
  assert_string_equal (
      sv_ip4_format (sv_plan_bridge_addr (SV_IP4 (126, 1, 2, 3), 8, SV_IP4 (126, 0, 0, 1), &bp), s),
      "124.1.2.3");
  assert_int_equal (bp, 6);
  /* /1: inside the VM's /1, prefix 1. */
  sv_plan_bridge_addr (SV_IP4 (10, 0, 0, 5), 1, 0, &bp);
  assert_int_equal (bp, 1);
}

/* Two VM containers on one network never get the same bridge address. */
static void
test_bridge_addr_distinct_per_vm (void **state)
{
  uint8_t bp1, bp2;
  for (unsigned prefix = 2; prefix <= 30; prefix++)
    {
      uint32_t net = SV_IP4 (10, 128, 0, 0) & sv_ip4_netmask (prefix);
      uint32_t gw = net + 1;
      for (uint32_t h = 2; h < 40 && h < (1u << (32 - prefix)) - 2; h++)
        {
          uint32_t b1 = sv_plan_bridge_addr (net + h, (uint8_t)prefix, gw, &bp1);
          uint32_t b2 = sv_plan_bridge_addr (net + h + 1, (uint8_t)prefix, gw, &bp2);
          assert_int_not_equal (b1, b2);
          assert_int_not_equal (b1, net + h + 1);
          assert_int_not_equal (b2, net + h);
        }
    }
}

/* ---- MAC ---- */

static void
test_derive_mac (void **state)
{
  uint8_t docker[6] = { 0x02, 0x42, 0xac, 0x11, 0x00, 0x02 };
  uint8_t a[6], b[6];
  sv_handoff_derive_mac (docker, a);
  sv_handoff_derive_mac (docker, b);
  assert_memory_equal (a, b, 6);          /* deterministic */
  assert_memory_not_equal (a, docker, 6); /* never the VM's MAC */
  assert_true (a[0] & 0x02);              /* locally administered */
  assert_false (a[0] & 0x01);             /* unicast */

  /* Only the LA bit differs: still different results. */
  uint8_t ua[6] = { 0x00, 0x42, 0xac, 0x11, 0x00, 0x02 };
  sv_handoff_derive_mac (ua, b);
  assert_memory_not_equal (a, b, 6);
  assert_true (b[0] & 0x02);
  assert_memory_not_equal (b, ua, 6);

  /* Multicast bit in the input never leaks out. */
  uint8_t mc[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
  sv_handoff_derive_mac (mc, b);
  assert_false (b[0] & 0x01);

  /* A whole Docker network of containers: all distinct, none equal to
   * any container's original MAC. */
  static uint8_t derived[4096][6];
  for (unsigned i = 0; i < 4096; i++)
    {
      uint8_t m[6] = { 0x02, 0x42, 0xac, 0x11, (uint8_t)(i >> 8), (uint8_t)i };
      sv_handoff_derive_mac (m, derived[i]);
      assert_false (derived[i][0] == 0x02 && derived[i][1] == 0x42);
    }
  for (unsigned i = 0; i < 4096; i++)
    for (unsigned j = i + 1; j < 4096; j += 97)
      assert_memory_not_equal (derived[i], derived[j], 6);
}

/* ---- net op renderer ---- */

static void
expect_op (struct sv_net_op op, const char *want)
{
  struct sv_buf b = { 0 };
  sv_net_op_format (&op, &b);
  assert_string_equal (b.data, want);
  sv_buf_free (&b);
}

static void
test_net_op_format (void **state)
{
  expect_op ((struct sv_net_op){ .kind = SV_OP_LINK_DOWN, .ifname = "eth0" }, "link set eth0 down");
  expect_op ((struct sv_net_op){ .kind = SV_OP_LINK_SET_MAC,
                                 .ifname = "eth0",
                                 .mac = { 0x02, 0xdf, 0x83, 0x3e, 0xe1, 0x5a } },
             "link set eth0 address 02:df:83:3e:e1:5a");
  expect_op (
      (struct sv_net_op){
          .kind = SV_OP_ADDR_DEL, .ifname = "eth0", .addr = SV_IP4 (172, 17, 0, 2), .prefix = 16 },
      "addr del 172.17.0.2/16 dev eth0");
  expect_op ((struct sv_net_op){ .kind = SV_OP_BRIDGE_ADD, .ifname = "br0", .mtu = 1500 },
             "link add br0 type bridge mtu 1500");
  expect_op ((struct sv_net_op){ .kind = SV_OP_SET_MASTER, .ifname = "eth0", .master = "br0" },
             "link set eth0 master br0");
  expect_op ((struct sv_net_op){ .kind = SV_OP_TAP_ADD, .ifname = "tap0", .mtu = 1500 },
             "tuntap add tap0 mtu 1500");
  expect_op ((struct sv_net_op){ .kind = SV_OP_LINK_UP, .ifname = "tap0" }, "link set tap0 up");
  expect_op ((struct sv_net_op){ .kind = SV_OP_LINK_SET_MTU, .ifname = "eth0", .mtu = 1400 },
             "link set eth0 mtu 1400");
  expect_op (
      (struct sv_net_op){
          .kind = SV_OP_ADDR_ADD, .ifname = "br0", .addr = SV_IP4 (172, 16, 0, 2), .prefix = 15 },
      "addr add 172.16.0.2/15 dev br0");
}

/* ---- QEMU argv ---- */

static void
test_accel (void **state)
{
  struct sv_vm_config cfg = fix_config ();
  struct sv_host host;
  sv_error_t err = NULL;
  struct sv_plan p;

  /* auto + usable KVM: kvm, -cpu host, no warning. */
  fix_host_docker (&host, true);
  p = build_ok (&cfg, &host, NULL);
  assert_int_equal (p.accel, SV_ACCEL_KVM);
  assert_string_equal (argv_value (&p, "-accel"), "kvm");
  assert_string_equal (argv_value (&p, "-cpu"), "host");
  assert_int_equal (p.n_warnings, 0);
  assert_null (p.warnings[0]);
  sv_plan_free (&p);

  /* auto without KVM: tcg, -cpu max, exactly one warning naming why. */
  fix_host_docker (&host, false);
  p = build_ok (&cfg, &host, NULL);
  assert_int_equal (p.accel, SV_ACCEL_TCG);
  assert_string_equal (argv_value (&p, "-accel"), "tcg");
  assert_string_equal (argv_value (&p, "-cpu"), "max");
  assert_int_equal (p.n_warnings, 1);
  assert_non_null (strstr (p.warnings[0], "/dev/kvm: No such file or directory"));
  assert_non_null (strstr (p.warnings[0], "much slower"));
  assert_null (strchr (p.warnings[0], '\n'));
  sv_plan_free (&p);

  /* kvm without KVM: environment error, exit class 3, reason named. */
  cfg.accel = SV_ACCEL_KVM;
  assert_int_equal (sv_plan_build (&cfg, &host, NULL, &p, &err), -1);
  assert_non_null (err);
  assert_int_equal (sv_error_exit_code (err), 3);
  assert_non_null (strstr (err->msg, "/dev/kvm: No such file or directory"));
  sv_error_release (&err);

  /* tcg even with KVM: no warning. */
  cfg.accel = SV_ACCEL_TCG;
  fix_host_docker (&host, true);
  p = build_ok (&cfg, &host, NULL);
  assert_string_equal (argv_value (&p, "-accel"), "tcg");
  assert_int_equal (p.n_warnings, 0);
  sv_plan_free (&p);
}

static void
test_argv_basics (void **state)
{
  struct sv_vm_config cfg = fix_config ();
  cfg.memory_mib = 2048;
  cfg.cpus = 4;
  cfg.boot.kernel = (char *)"/vm/vmlinuz";
  cfg.boot.initrd = (char *)"/vm/initrd.img";
  cfg.boot.append = (char *)"console=ttyS0 quiet";
  struct sv_host host;
  fix_host_docker (&host, true);
  struct sv_plan p = build_ok (&cfg, &host, NULL);

  assert_string_equal (p.qemu_argv[0], "qemu-system-x86_64");
  assert_string_equal (p.qemu_argv[1], "-nodefaults");
  assert_null (p.qemu_argv[p.qemu_argc]);
  assert_string_equal (argv_value (&p, "-name"), "guest=4f1a2b3c4d5e"); /* the hostname */
  assert_string_equal (argv_value (&p, "-machine"), "type=q35");
  assert_string_equal (argv_value (&p, "-m"), "2048");
  assert_string_equal (argv_value (&p, "-smp"), "4");
  assert_string_equal (argv_value (&p, "-kernel"), "/vm/vmlinuz");
  assert_string_equal (argv_value (&p, "-initrd"), "/vm/initrd.img");
  assert_string_equal (argv_value (&p, "-append"), "console=ttyS0 quiet");
  assert_string_equal (argv_value (&p, "-display"), "none");
  assert_string_equal (argv_value (&p, "-vga"), "std");
  assert_string_equal (argv_value (&p, "-vnc"), "unix:/ranchervm/" FIX_CONTAINER_ID "/vnc");
  assert_string_equal (argv_value (&p, "-chardev"), "stdio,id=serial0,signal=off");
  assert_string_equal (argv_value (&p, "-serial"), "chardev:serial0");
  assert_string_equal (argv_value (&p, "-qmp"),
                       "unix:/ranchervm/" FIX_CONTAINER_ID "/qmp,server=on,wait=off");
  assert_string_equal (p.run_dir, "/ranchervm/" FIX_CONTAINER_ID);
  assert_string_equal (p.qmp_path, "/ranchervm/" FIX_CONTAINER_ID "/qmp");
  assert_string_equal (p.vnc_path, "/ranchervm/" FIX_CONTAINER_ID "/vnc");
  assert_int_equal (argv_find (&p, "-no-reboot"), -1);
  assert_int_equal (argv_find (&p, "-monitor"), -1);
  sv_plan_free (&p);

  /* Console off, no name anywhere, a trailing slash on state_dir. */
  cfg.console.vnc = false;
  cfg.console.qmp = false;
  cfg.console.serial = SV_SERIAL_NONE;
  cfg.state_dir = (char *)"/state/";
  host.net.hostname[0] = '\0';
  p = build_ok (&cfg, &host, NULL);
  assert_string_equal (argv_value (&p, "-name"), "guest=vm");
  assert_string_equal (argv_value (&p, "-vga"), "none");
  assert_int_equal (argv_find (&p, "-vnc"), -1);
  /* Only startvm's own control socket remains (shutdown.mode acpi). */
  assert_string_equal (argv_value (&p, "-qmp"),
                       "unix:/state/" FIX_CONTAINER_ID "/startvm.qmp,server=on,wait=off");
  assert_string_equal (p.control_path, "/state/" FIX_CONTAINER_ID "/startvm.qmp");
  assert_int_equal (argv_find (&p, "-chardev"), -1);
  assert_int_equal (argv_find (&p, "-serial"), -1);
  assert_null (p.qmp_path);
  assert_null (p.vnc_path);
  assert_string_equal (p.run_dir, "/state/" FIX_CONTAINER_ID);
  sv_plan_free (&p);

  /* exec mode: QEMU is PID 1, nobody uses a control socket. */
  cfg.shutdown.mode = SV_SHUTDOWN_EXEC;
  p = build_ok (&cfg, &host, NULL);
  assert_int_equal (argv_find (&p, "-qmp"), -1);
  assert_null (p.control_path);
  sv_plan_free (&p);
}

/* Hostile values: every one stays one argv element, and inside QEMU
 * option strings its commas are doubled so it cannot add sub-options. */
static void
test_argv_injection (void **state)
{
  struct sv_vm_config cfg = fix_config ();
  cfg.name = (char *)"evil,name=x $(reboot) 'q\"\nline2";
  cfg.machine = (char *)"q35,accel=kvm";
  cfg.state_dir = (char *)"/run/a,b=c";
  cfg.network.model = (char *)"e1000,romfile=/etc/passwd";
  cfg.boot.kernel = (char *)"/boot/vm linuz,1";
  cfg.boot.append = (char *)"init=/bin/sh -c 'echo $(id)'; rm -rf / `x`\nsecond,line";
  char *extra_cfg[] = { (char *)"-device", (char *)"virtio-rng-pci,id=rng0", NULL };
  cfg.qemu.extra_args = extra_cfg;
  cfg.qemu.n_extra_args = 2;
  char *cmd[] = { (char *)"-cdrom", (char *)"/x y,z.iso", (char *)"$(touch /tmp/pwned)", NULL };
  struct sv_host host;
  fix_host_docker (&host, true);
  struct sv_plan p = build_ok (&cfg, &host, cmd);

  assert_string_equal (argv_value (&p, "-name"), "guest=evil,,name=x $(reboot) 'q\"\nline2");
  assert_string_equal (argv_value (&p, "-machine"), "type=q35,,accel=kvm");
  assert_string_equal (argv_value (&p, "-qmp"),
                       "unix:/run/a,,b=c/" FIX_CONTAINER_ID "/qmp,server=on,wait=off");
  assert_string_equal (argv_value (&p, "-vnc"), "unix:/run/a,,b=c/" FIX_CONTAINER_ID "/vnc");
  /* Whole argv elements: verbatim. */
  assert_string_equal (argv_value (&p, "-kernel"), "/boot/vm linuz,1");
  assert_string_equal (argv_value (&p, "-append"), cfg.boot.append);
  /* The plan keeps the real paths; only the QEMU strings are escaped. */
  assert_string_equal (p.qmp_path, "/run/a,b=c/" FIX_CONTAINER_ID "/qmp");
  assert_string_equal (p.dnsmasq_conf_path, "/run/a,b=c/" FIX_CONTAINER_ID "/dnsmasq.conf");
  assert_string_equal (p.dnsmasq_argv[2],
                       "--conf-file=/run/a,b=c/" FIX_CONTAINER_ID "/dnsmasq.conf");
  int dev = argv_find (&p, "-device");
  assert_true (dev > 0);
  assert_string_equal (p.qemu_argv[dev + 1],
                       "e1000,,romfile=/etc/passwd,netdev=net0,mac=02:42:ac:11:00:02");

  /* Config extra args, then the CMD, last and verbatim. */
  assert_true (p.qemu_argc >= 7);
  assert_string_equal (p.qemu_argv[p.qemu_argc - 5], "-device");
  assert_string_equal (p.qemu_argv[p.qemu_argc - 4], "virtio-rng-pci,id=rng0");
  assert_string_equal (p.qemu_argv[p.qemu_argc - 3], "-cdrom");
  assert_string_equal (p.qemu_argv[p.qemu_argc - 2], "/x y,z.iso");
  assert_string_equal (p.qemu_argv[p.qemu_argc - 1], "$(touch /tmp/pwned)");
  sv_plan_free (&p);
}

static void
test_socket_path_too_long (void **state)
{
  struct sv_vm_config cfg = fix_config ();
  char dir[200];
  memset (dir, 'd', sizeof dir - 1);
  dir[0] = '/';
  dir[sizeof dir - 1] = '\0';
  cfg.state_dir = dir;
  struct sv_host host;
  fix_host_docker (&host, true);
  struct sv_plan p;
  sv_error_t err = NULL;
  assert_int_equal (sv_plan_build (&cfg, &host, NULL, &p, &err), -1);
  assert_int_equal (sv_error_exit_code (err), 2);
  assert_non_null (strstr (err->msg, "state_dir"));
  sv_error_release (&err);
}

/* ---- network ---- */

/* The Docker fixture's handoff.  The bridge and its alias first: a
 * startvm killed at any later step leaves what the next start resumes. */
static const char *const docker_steps[] = {
  "link add br0 type bridge mtu 1500 alias 'startvm1 eth0 02:42:ac:11:00:02 172.17.0.2/16 "
  "mtu=1500 gw=172.17.0.1'",
  "link set eth0 down",
  "link set eth0 address 02:df:c6:3e:e1:5a",
  "addr del 172.17.0.2/16 dev eth0",
  "link set eth0 master br0",
  "tuntap add tap0 mtu 1500",
  "link set tap0 master br0",
  "link set eth0 up",
  "link set tap0 up",
  "link set br0 up",
  "addr add 172.16.0.2/15 dev br0",
};

static void
test_net_docker_steps (void **state)
{
  struct sv_vm_config cfg = fix_config ();
  struct sv_host host;
  fix_host_docker (&host, true);
  struct sv_plan p = build_ok (&cfg, &host, NULL);

  assert_int_equal (p.n_net_ops, sizeof docker_steps / sizeof docker_steps[0]);
  for (size_t i = 0; i < p.n_net_ops; i++)
    {
      struct sv_buf b = { 0 };
      sv_net_op_format (&p.net_ops[i], &b);
      assert_string_equal (b.data, docker_steps[i]);
      assert_int_equal (p.net_ops[i].index, 0);
      sv_buf_free (&b);
    }
  assert_int_equal (p.n_taps, 1);
  assert_string_equal (argv_value (&p, "-netdev"), "tap,id=net0,fd=10,vhost=on");
  assert_string_equal (argv_value (&p, "-device"),
                       "virtio-net-pci,netdev=net0,mac=02:42:ac:11:00:02");
  assert_non_null (p.dnsmasq_conf);
  assert_string_equal (p.dnsmasq_conf_path, "/ranchervm/" FIX_CONTAINER_ID "/dnsmasq.conf");
  assert_string_equal (p.dnsmasq_argv[0], "dnsmasq");
  assert_string_equal (p.dnsmasq_argv[1], "--keep-in-foreground");
  assert_string_equal (p.dnsmasq_argv[2],
                       "--conf-file=/ranchervm/" FIX_CONTAINER_ID "/dnsmasq.conf");
  assert_null (p.dnsmasq_argv[3]);

  const char *c = p.dnsmasq_conf;
  expect_line (c, "port=0");
  expect_line (c, "leasefile-ro");
  expect_line (c, "log-facility=-");
  expect_line (c, "interface=br0");
  expect_line (c, "bind-interfaces");
  expect_line (c, "dhcp-ignore=tag:!known");
  expect_line (c, "dhcp-range=set:br0,172.17.0.2,static,255.254.0.0,infinite");
  expect_line (c, "dhcp-host=02:42:ac:11:00:02,set:vm0,172.17.0.2,4f1a2b3c4d5e,infinite");
  expect_line (c, "dhcp-option=tag:vm0,1,255.255.0.0");
  expect_line (c, "dhcp-option=tag:vm0,28,172.17.255.255");
  expect_line (c, "dhcp-option=tag:vm0,3,172.17.0.1");
  expect_line (c, "dhcp-option=tag:vm0,6,8.8.8.8");
  expect_line (c, "dhcp-option=tag:vm0,26,1500");
  assert_null (strstr (c, ",121,"));
  sv_plan_free (&p);

  /* No vhost-net: plain tap. */
  host.vhost_net_usable = false;
  p = build_ok (&cfg, &host, NULL);
  assert_string_equal (argv_value (&p, "-netdev"), "tap,id=net0,fd=10");
  sv_plan_free (&p);
}

static void
test_net_calico (void **state)
{
  struct sv_vm_config cfg = fix_config ();
  struct sv_host host;
  fix_host_calico (&host);
  struct sv_plan p = build_ok (&cfg, &host, NULL);
  const char *c = p.dnsmasq_conf;
  expect_line (c, "dhcp-range=set:br0,10.244.1.17,static,255.255.255.254,infinite");
  expect_line (c, "dhcp-option=tag:vm0,1,255.255.255.255");
  expect_line (c, "dhcp-option=tag:vm0,28,255.255.255.255");
  expect_line (c, "dhcp-option=tag:vm0,3");
  expect_line (c, "dhcp-option=tag:vm0,121,169.254.1.1/32,0.0.0.0,0.0.0.0/0,169.254.1.1");
  expect_line (c, "dhcp-option=tag:vm0,249,169.254.1.1/32,0.0.0.0,0.0.0.0/0,169.254.1.1");
  expect_line (c, "dhcp-option=tag:vm0,119,default.svc.cluster.local,svc.cluster.local,"
                  "cluster.local");
  expect_line (c, "dhcp-option=tag:vm0,15,default.svc.cluster.local");
  expect_line (c, "dhcp-option=tag:vm0,26,1440");
  /* The bridge address is the /31 neighbour. */
  assert_int_equal (p.net_ops[p.n_net_ops - 1].kind, SV_OP_ADDR_ADD);
  assert_int_equal (p.net_ops[p.n_net_ops - 1].addr, SV_IP4 (10, 244, 1, 16));
  assert_int_equal (p.net_ops[p.n_net_ops - 1].prefix, 31);
  /* MTU reaches a virtio guest even without DHCP. */
  assert_string_equal (argv_value (&p, "-device"),
                       "virtio-net-pci,netdev=net0,mac=9a:3c:51:0e:7b:21,host_mtu=1440");
  sv_plan_free (&p);

  /* Without the scope-link host route, the plan adds it. */
  host.net.ifaces[0].n_routes = 1;
  p = build_ok (&cfg, &host, NULL);
  expect_line (p.dnsmasq_conf,
               "dhcp-option=tag:vm0,121,169.254.1.1/32,0.0.0.0,0.0.0.0/0,169.254.1.1");
  sv_plan_free (&p);
}

static void
test_net_two_ifaces (void **state)
{
  struct sv_vm_config cfg = fix_config ();
  struct sv_host host;
  fix_host_two (&host);
  struct sv_plan p = build_ok (&cfg, &host, NULL);
  assert_int_equal (p.n_taps, 2);
  assert_int_equal (p.n_net_ops, 22);
  assert_int_equal (argv_count (&p, "-netdev"), 2);
  assert_int_equal (argv_count (&p, "-device"), 2);
  assert_int_not_equal (argv_find (&p, "tap,id=net1,fd=11,vhost=on"), -1);
  assert_int_not_equal (argv_find (&p, "virtio-net-pci,netdev=net1,mac=02:42:0a:0a:00:07"), -1);
  for (size_t i = 11; i < 22; i++)
    assert_int_equal (p.net_ops[i].index, 1);
  const char *c = p.dnsmasq_conf;
  expect_line (c, "interface=br0");
  expect_line (c, "interface=br1");
  expect_line (c, "dhcp-range=set:br1,10.10.0.7,static,255.255.254.0,infinite");
  /* eth1: no hostname, no DNS; its route as option 121, no router. */
  expect_line (c, "dhcp-host=02:42:0a:0a:00:07,set:vm1,10.10.0.7,infinite");
  expect_line (c, "dhcp-option=tag:vm1,3");
  expect_line (c, "dhcp-option=tag:vm1,121,10.20.0.0/16,10.10.0.1");
  assert_null (strstr (c, "tag:vm1,6,"));
  sv_plan_free (&p);
}

static void
test_net_names_and_dns (void **state)
{
  struct sv_vm_config cfg = fix_config ();
  struct sv_host host;
  fix_host_mtu (&host);
  struct sv_plan p = build_ok (&cfg, &host, NULL);
  const char *c = p.dnsmasq_conf;
  /* The first label of a dotted hostname; loopback resolver dropped with
   * a warning. */
  expect_line (c, "dhcp-host=02:42:0a:01:02:03,set:vm0,10.1.2.3,web-1,infinite");
  expect_line (c, "dhcp-option=tag:vm0,6,10.1.0.53,1.1.1.1");
  expect_line (c, "dhcp-option=tag:vm0,119,corp.example.com,example.com");
  expect_line (c, "dhcp-option=tag:vm0,15,corp.example.com");
  expect_line (c, "dhcp-option=tag:vm0,26,1400");
  assert_int_equal (p.n_warnings, 1);
  assert_non_null (strstr (p.warnings[0], "127.0.0.11"));
  sv_plan_free (&p);

  /* Hostile observed names never reach dnsmasq.conf. */
  snprintf (host.net.hostname, sizeof host.net.hostname, "bad,host\ndhcp-range=x");
  snprintf (host.net.search[0], 256, "evil.com\ndhcp-option=3,6.6.6.6");
  snprintf (host.net.search[1], 256, "a,b");
  p = build_ok (&cfg, &host, NULL);
  c = p.dnsmasq_conf;
  expect_line (c, "dhcp-host=02:42:0a:01:02:03,set:vm0,10.1.2.3,infinite");
  assert_null (strstr (c, "evil"));
  assert_null (strstr (c, "6.6.6.6"));
  assert_null (strstr (c, "a,b"));
  expect_no_line (c, "dhcp-range=x");
  assert_int_equal (p.n_warnings, 4);
  sv_plan_free (&p);

  /* Names dnsmasq would read as a lease time are not sent. */
  const char *lease_like[] = { "12345", "5m", "infinite", "ignore", "-bad", "_x" };
  for (size_t i = 0; i < sizeof lease_like / sizeof lease_like[0]; i++)
    {
      snprintf (host.net.hostname, sizeof host.net.hostname, "%s", lease_like[i]);
      p = build_ok (&cfg, &host, NULL);
      expect_line (p.dnsmasq_conf, "dhcp-host=02:42:0a:01:02:03,set:vm0,10.1.2.3,infinite");
      sv_plan_free (&p);
    }
}

static void
test_net_no_dhcp_and_none (void **state)
{
  struct sv_vm_config cfg = fix_config ();
  struct sv_host host;
  fix_host_docker (&host, true);
  cfg.network.dhcp = false;
  struct sv_plan p = build_ok (&cfg, &host, NULL);
  assert_int_equal (p.n_net_ops, 10);
  for (size_t i = 0; i < p.n_net_ops; i++)
    assert_int_not_equal (p.net_ops[i].kind, SV_OP_ADDR_ADD);
  assert_null (p.dnsmasq_conf);
  assert_null (p.dnsmasq_argv);
  assert_null (p.dnsmasq_conf_path);
  assert_int_equal (p.n_taps, 1);
  assert_int_equal (argv_count (&p, "-netdev"), 1);
  sv_plan_free (&p);

  /* No interfaces: no NIC, no steps, no dnsmasq. */
  cfg.network.dhcp = true;
  host.net.n_ifaces = 0;
  p = build_ok (&cfg, &host, NULL);
  assert_int_equal (p.n_net_ops, 0);
  assert_int_equal (p.n_taps, 0);
  assert_null (p.dnsmasq_conf);
  assert_int_equal (argv_find (&p, "-netdev"), -1);
  assert_int_equal (argv_find (&p, "-device"), -1);
  sv_plan_free (&p);
}

/* Every generated dnsmasq.conf passes dnsmasq's own syntax check. */
static void
dnsmasq_test (const char *name, const struct sv_plan *p)
{
  char path[4096];
  snprintf (path, sizeof path, "%s/test_plan_%s_%d.conf", SV_BINARY_DIR, name, (int)getpid ());
  FILE *f = fopen (path, "we");
  assert_non_null (f);
  fputs (p->dnsmasq_conf, f);
  fclose (f);
  char cmd[8192];
  snprintf (cmd, sizeof cmd, "dnsmasq --test --conf-file='%s' >/dev/null 2>&1", path);
  int st = system (cmd);
  if (!(WIFEXITED (st) && WEXITSTATUS (st) == 0))
    {
      snprintf (cmd, sizeof cmd, "dnsmasq --test --conf-file='%s'", path);
      if (system (cmd) < 0)
        perror ("system");
      fail_msg ("dnsmasq --test refused %s:\n%s", path, p->dnsmasq_conf);
    }
  unlink (path);
}

static void
test_dnsmasq_accepts_conf (void **state)
{
  if (system ("command -v dnsmasq >/dev/null 2>&1") != 0)
    {
      const char *ci = getenv ("CI");
      if (ci && strcmp (ci, "true") == 0)
        fail_msg ("dnsmasq is not installed (package dnsmasq-base)");
      skip ();
    }
  struct sv_vm_config cfg = fix_config ();
  struct sv_host host;
  struct sv_plan p;

  fix_host_docker (&host, true);
  p = build_ok (&cfg, &host, NULL);
  dnsmasq_test ("docker", &p);
  sv_plan_free (&p);
  fix_host_net24 (&host);
  p = build_ok (&cfg, &host, NULL);
  dnsmasq_test ("net24", &p);
  sv_plan_free (&p);
  fix_host_calico (&host);
  p = build_ok (&cfg, &host, NULL);
  dnsmasq_test ("calico", &p);
  sv_plan_free (&p);
  fix_host_two (&host);
  p = build_ok (&cfg, &host, NULL);
  dnsmasq_test ("two", &p);
  sv_plan_free (&p);
  fix_host_mtu (&host);
  p = build_ok (&cfg, &host, NULL);
  dnsmasq_test ("mtu", &p);
  sv_plan_free (&p);

  /* Every prefix length. */
  for (unsigned prefix = 1; prefix <= 32; prefix++)
    {
      fix_host_base (&host, true);
      uint32_t addr = SV_IP4 (10, 77, 33, 9);
      uint32_t net = addr & sv_ip4_netmask (prefix);
      uint32_t gw = prefix <= 30 ? net + 1 : SV_IP4 (169, 254, 1, 1);
      struct sv_iface *e = fix_iface (&host, "eth0", addr, (uint8_t)prefix, gw, 1500);
      fix_mac (e->mac, 0x02, 0x42, 0x0a, 0x4d, 0x21, 0x09);
      fix_route (e, 0, 0, gw, prefix > 30, RTSCOPE_UNIVERSE);
      p = build_ok (&cfg, &host, NULL);
      char name[16];
      snprintf (name, sizeof name, "p%u", prefix);
      dnsmasq_test (name, &p);
      sv_plan_free (&p);
    }
}

/* Same inputs, byte-identical plan and dry-run output. */
static void
test_deterministic (void **state)
{
  struct sv_vm_config cfg = fix_config ();
  struct sv_host host;
  fix_host_mtu (&host);
  struct sv_plan a = build_ok (&cfg, &host, NULL);
  struct sv_plan b = build_ok (&cfg, &host, NULL);
  char *ta = sv_plan_format_text (&a, &host), *tb = sv_plan_format_text (&b, &host);
  char *ja = sv_plan_format_json (&a, &host), *jb = sv_plan_format_json (&b, &host);
  assert_string_equal (ta, tb);
  assert_string_equal (ja, jb);
  assert_int_equal (a.n_net_ops, b.n_net_ops);
  assert_memory_equal (a.net_ops, b.net_ops, a.n_net_ops * sizeof a.net_ops[0]);
  free (ta);
  free (tb);
  free (ja);
  free (jb);
  sv_plan_free (&a);
  sv_plan_free (&b);
}

/* ---- a restart in the same network namespace (handoff.h) ---- */

static const char *
bridge_alias (const struct sv_plan *p, size_t index)
{
  for (size_t i = 0; i < p->n_net_ops; i++)
    if (p->net_ops[i].kind == SV_OP_BRIDGE_ADD && p->net_ops[i].index == (int)index)
      return p->net_ops[i].alias;
  return NULL;
}

/* What observe finds after the first plan was applied: each interface is a
 * port of its bridge, its facts only in the bridge's alias. */
static void
resumed_host (const struct sv_host *first, const struct sv_plan *p, struct sv_host *out,
              bool bridge_has_addr)
{
  *out = *first;
  for (size_t i = 0; i < first->net.n_ifaces; i++)
    {
      struct sv_iface *ifc = &out->net.ifaces[i];
      sv_error_t err = NULL;
      const char *alias = bridge_alias (p, i);
      assert_non_null (alias);
      assert_int_equal (sv_handoff_alias_decode (alias, ifc, &err), 0);
      assert_null (err);
      ifc->ifindex = first->net.ifaces[i].ifindex;
      ifc->resumed = true;
      snprintf (ifc->bridge, sizeof ifc->bridge, "br%u", (unsigned)(uint8_t)i);
      if (bridge_has_addr)
        ifc->bridge_addr
            = sv_plan_bridge_addr (ifc->addr, ifc->prefix, ifc->gateway, &ifc->bridge_prefix);
    }
}

/* The resumed plan hands the VM the same network: same QEMU NICs, and the
 * same dnsmasq.conf but for the comment saying where the facts came from. */
static void
expect_same_network (const struct sv_plan *a, const struct sv_plan *b)
{
  assert_int_equal (a->qemu_argc, b->qemu_argc);
  for (size_t i = 0; i < a->qemu_argc; i++)
    assert_string_equal (a->qemu_argv[i], b->qemu_argv[i]);
  assert_non_null (b->dnsmasq_conf);
  struct sv_buf stripped = { 0 };
  const char *note = " (resumed from the bridge's alias)";
  for (const char *s = b->dnsmasq_conf; *s;)
    {
      const char *hit = strstr (s, note);
      if (hit == NULL)
        {
          sv_buf_add (&stripped, s);
          break;
        }
      sv_buf_addf (&stripped, "%.*s", (int)(hit - s), s);
      s = hit + strlen (note);
    }
  assert_string_equal (a->dnsmasq_conf, stripped.data);
  sv_buf_free (&stripped);
}

static void
test_net_resumed_docker (void **state)
{
  struct sv_vm_config cfg = fix_config ();
  struct sv_host host, again;
  fix_host_docker (&host, true);
  struct sv_plan a = build_ok (&cfg, &host, NULL);
  resumed_host (&host, &a, &again, false);
  struct sv_plan b = build_ok (&cfg, &again, NULL);

  static const char *want[] = {
    "tuntap add tap0 mtu 1500", "link set tap0 master br0", "link set eth0 up",
    "link set tap0 up",         "link set br0 up",          "addr add 172.16.0.2/15 dev br0",
  };
  assert_int_equal (b.n_net_ops, sizeof want / sizeof want[0]);
  for (size_t i = 0; i < b.n_net_ops; i++)
    {
      struct sv_buf t = { 0 };
      sv_net_op_format (&b.net_ops[i], &t);
      assert_string_equal (t.data, want[i]);
      sv_buf_free (&t);
    }
  assert_int_equal (b.n_taps, 1);
  expect_same_network (&a, &b);
  char *text = sv_plan_format_text (&b, &again);
  assert_non_null (strstr (text, "resumed: already a port of br0"));
  free (text);
  char *json = sv_plan_format_json (&b, &again);
  assert_non_null (strstr (json, "\"resumed_from\": \"br0\""));
  free (json);

  /* The bridge kept its address: it is not added twice. */
  struct sv_plan c;
  resumed_host (&host, &a, &again, true);
  c = build_ok (&cfg, &again, NULL);
  assert_int_equal (c.n_net_ops, 5);
  assert_int_equal (c.net_ops[4].kind, SV_OP_LINK_UP);
  expect_same_network (&a, &c);
  sv_plan_free (&a);
  sv_plan_free (&b);
  sv_plan_free (&c);
}

/* An earlier startvm killed after creating the bridge, before eth0 joined
 * it: the next plan does the port's remaining steps (the address removal
 * only while eth0 still holds it) and offers the same network. */
static void
test_net_resumed_unfinished (void **state)
{
  struct sv_vm_config cfg = fix_config ();
  struct sv_host host, again;
  fix_host_docker (&host, true);
  struct sv_plan a = build_ok (&cfg, &host, NULL);
  for (int addr_on_port = 0; addr_on_port <= 1; addr_on_port++)
    {
      resumed_host (&host, &a, &again, false);
      again.net.ifaces[0].resume_port_pending = true;
      again.net.ifaces[0].resume_addr_on_port = addr_on_port;
      struct sv_plan b = build_ok (&cfg, &again, NULL);
      size_t k = 0;
      /* All but the bridge's creation. */
      for (size_t i = 1; i < sizeof docker_steps / sizeof docker_steps[0]; i++)
        {
          if (!addr_on_port && strncmp (docker_steps[i], "addr del", 8) == 0)
            continue;
          assert_true (k < b.n_net_ops);
          struct sv_buf t = { 0 };
          sv_net_op_format (&b.net_ops[k++], &t);
          assert_string_equal (t.data, docker_steps[i]);
          sv_buf_free (&t);
        }
      assert_int_equal (b.n_net_ops, k);
      expect_same_network (&a, &b);
      char *text = sv_plan_format_text (&b, &again);
      assert_non_null (strstr (text, "resumed: br0 holds the handoff an earlier startvm"));
      free (text);
      char *json = sv_plan_format_json (&b, &again);
      assert_non_null (strstr (json, "\"resume_unfinished\": true"));
      free (json);
      sv_plan_free (&b);
    }
  sv_plan_free (&a);
}

/* Calico (off-link gateway, option 121) and two networks: the routes the
 * VM is offered survive the round trip through the aliases. */
static void
test_net_resumed_routes (void **state)
{
  struct sv_vm_config cfg = fix_config ();
  struct sv_host host, again;
  fix_host_calico (&host);
  struct sv_plan a = build_ok (&cfg, &host, NULL);
  resumed_host (&host, &a, &again, false);
  struct sv_plan b = build_ok (&cfg, &again, NULL);
  expect_same_network (&a, &b);
  sv_plan_free (&a);
  sv_plan_free (&b);

  fix_host_two (&host);
  a = build_ok (&cfg, &host, NULL);
  resumed_host (&host, &a, &again, true);
  b = build_ok (&cfg, &again, NULL);
  expect_same_network (&a, &b);
  for (size_t i = 0; i < b.n_net_ops; i++)
    assert_true (b.net_ops[i].kind == SV_OP_TAP_ADD || b.net_ops[i].kind == SV_OP_SET_MASTER
                 || b.net_ops[i].kind == SV_OP_LINK_UP);
  sv_plan_free (&a);
  sv_plan_free (&b);
}

/* A resumed bridge whose name a new handoff would also take: exit 3. */
static void
test_net_resumed_bridge_clash (void **state)
{
  struct sv_vm_config cfg = fix_config ();
  struct sv_host host;
  fix_host_two (&host);
  host.net.ifaces[1].resumed = true;
  snprintf (host.net.ifaces[1].bridge, sizeof host.net.ifaces[1].bridge, "br0");
  struct sv_plan p;
  sv_error_t err = NULL;
  assert_true (sv_plan_build (&cfg, &host, NULL, &p, &err) < 0);
  assert_non_null (err);
  assert_int_equal (err->exit_class, SV_EXIT_ENV);
  assert_non_null (strstr (err->msg, "would both use bridge br0"));
  sv_error_release (&err);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_bridge_addr_all_prefixes),
    cmocka_unit_test (test_bridge_addr_known_values),
    cmocka_unit_test (test_bridge_addr_distinct_per_vm),
    cmocka_unit_test (test_derive_mac),
    cmocka_unit_test (test_net_op_format),
    cmocka_unit_test (test_accel),
    cmocka_unit_test (test_argv_basics),
    cmocka_unit_test (test_argv_injection),
    cmocka_unit_test (test_socket_path_too_long),
    cmocka_unit_test (test_net_docker_steps),
    cmocka_unit_test (test_net_calico),
    cmocka_unit_test (test_net_two_ifaces),
    cmocka_unit_test (test_net_names_and_dns),
    cmocka_unit_test (test_net_no_dhcp_and_none),
    cmocka_unit_test (test_dnsmasq_accepts_conf),
    cmocka_unit_test (test_deterministic),
    cmocka_unit_test (test_net_resumed_docker),
    cmocka_unit_test (test_net_resumed_unfinished),
    cmocka_unit_test (test_net_resumed_routes),
    cmocka_unit_test (test_net_resumed_bridge_clash),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
