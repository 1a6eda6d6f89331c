/* Hand-built configs and observed hosts for the plan tests (test_plan.c,
 * test_plan_golden.c): the container networks startvm must handle, as
 * literals, so the planner is tested without observe or the config
 * loader. */
#ifndef SV_TEST_PLAN_FIXTURES_H
#define SV_TEST_PLAN_FIXTURES_H

#include <string.h>

#include "config.h"
#include "host.h"
#include "util.h"

#define FIX_CONTAINER_ID "4f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8"
#define RTSCOPE_LINK 253
#define RTSCOPE_UNIVERSE 0

/* The schema's defaults. */
static inline struct sv_vm_config
fix_config (void)
{
  struct sv_vm_config c;
  memset (&c, 0, sizeof c);
  c.memory_mib = 512;
  c.cpus = 1;
  c.accel = SV_ACCEL_AUTO;
  c.machine = (char *)"q35";
  c.network.dhcp = true;
  c.network.wait_ms = 60000;
  c.network.model = (char *)"virtio-net-pci";
  c.console.serial = SV_SERIAL_STDIO;
  c.console.vnc = true;
  c.console.qmp = true;
  c.state_dir = (char *)"/ranchervm";
  c.shutdown.timeout_ms = 8000;
  c.qemu.binary = (char *)"qemu-system-x86_64";
  return c;
}

static inline void
fix_mac (uint8_t mac[6], uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint8_t e, uint8_t f)
{
  mac[0] = a, mac[1] = b, mac[2] = c, mac[3] = d, mac[4] = e, mac[5] = f;
}

static inline void
fix_route (struct sv_iface *ifc, uint32_t dst, uint8_t len, uint32_t gw, bool onlink, uint8_t scope)
{
  struct sv_route *r = &ifc->routes[ifc->n_routes++];
  memset (r, 0, sizeof *r);
  r->dst = dst;
  r->dst_len = len;
  r->gateway = gw;
  r->onlink = onlink;
  r->table = 254;
  r->scope = scope;
}

/* One interface with its connected route and, when gw != 0, a default
 * route through it. */
static inline struct sv_iface *
fix_iface (struct sv_host *h, const char *name, uint32_t addr, uint8_t prefix, uint32_t gw,
           unsigned mtu)
{
  struct sv_iface *ifc = &h->net.ifaces[h->net.n_ifaces++];
  memset (ifc, 0, sizeof *ifc);
  snprintf (ifc->name, sizeof ifc->name, "%s", name);
  ifc->ifindex = (int)h->net.n_ifaces + 1;
  ifc->addr = addr;
  ifc->prefix = prefix;
  ifc->gateway = gw;
  ifc->mtu = mtu;
  if (prefix < 32)
    fix_route (ifc, addr & sv_ip4_netmask (prefix), prefix, 0, false, RTSCOPE_LINK);
  return ifc;
}

static inline void
fix_host_base (struct sv_host *h, bool kvm)
{
  memset (h, 0, sizeof *h);
  h->kvm_usable = kvm;
  if (!kvm)
    snprintf (h->kvm_reason, sizeof h->kvm_reason, "/dev/kvm: No such file or directory");
  h->vhost_net_usable = kvm;
  snprintf (h->container_id, sizeof h->container_id, "%s", FIX_CONTAINER_ID);
}

/* Docker's default bridge: 172.17.0.2/16, gateway .1. */
static inline void
fix_host_docker (struct sv_host *h, bool kvm)
{
  fix_host_base (h, kvm);
  struct sv_iface *e
      = fix_iface (h, "eth0", SV_IP4 (172, 17, 0, 2), 16, SV_IP4 (172, 17, 0, 1), 1500);
  fix_mac (e->mac, 0x02, 0x42, 0xac, 0x11, 0x00, 0x02);
  fix_route (e, 0, 0, SV_IP4 (172, 17, 0, 1), false, RTSCOPE_UNIVERSE);
  h->net.n_dns = 1;
  h->net.dns[0] = SV_IP4 (8, 8, 8, 8);
  snprintf (h->net.hostname, sizeof h->net.hostname, "4f1a2b3c4d5e");
}

/* A /24 network, no KVM. */
static inline void
fix_host_net24 (struct sv_host *h)
{
  fix_host_base (h, false);
  struct sv_iface *e
      = fix_iface (h, "eth0", SV_IP4 (192, 168, 10, 23), 24, SV_IP4 (192, 168, 10, 1), 1500);
  fix_mac (e->mac, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56);
  fix_route (e, 0, 0, SV_IP4 (192, 168, 10, 1), false, RTSCOPE_UNIVERSE);
  h->net.n_dns = 1;
  h->net.dns[0] = SV_IP4 (192, 168, 10, 1);
  h->net.n_search = 1;
  snprintf (h->net.search[0], sizeof h->net.search[0], "lan");
  snprintf (h->net.hostname, sizeof h->net.hostname, "vm24");
}

/* A Calico pod: a /32 and the gateway 169.254.1.1, reached on-link. */
static inline void
fix_host_calico (struct sv_host *h)
{
  fix_host_base (h, true);
  struct sv_iface *e
      = fix_iface (h, "eth0", SV_IP4 (10, 244, 1, 17), 32, SV_IP4 (169, 254, 1, 1), 1440);
  fix_mac (e->mac, 0x9a, 0x3c, 0x51, 0x0e, 0x7b, 0x21);
  fix_route (e, 0, 0, SV_IP4 (169, 254, 1, 1), true, RTSCOPE_UNIVERSE);
  fix_route (e, SV_IP4 (169, 254, 1, 1), 32, 0, false, RTSCOPE_LINK);
  h->net.n_dns = 1;
  h->net.dns[0] = SV_IP4 (10, 96, 0, 10);
  h->net.n_search = 3;
  snprintf (h->net.search[0], 256, "default.svc.cluster.local");
  snprintf (h->net.search[1], 256, "svc.cluster.local");
  snprintf (h->net.search[2], 256, "cluster.local");
  snprintf (h->net.hostname, sizeof h->net.hostname, "web-7d9f8c6b5-x2x4q");
}

/* Two networks: eth0 with the default route, eth1 with a route of its
 * own and no gateway. */
static inline void
fix_host_two (struct sv_host *h)
{
  fix_host_base (h, true);
  struct sv_iface *e0
      = fix_iface (h, "eth0", SV_IP4 (172, 18, 0, 5), 16, SV_IP4 (172, 18, 0, 1), 1500);
  fix_mac (e0->mac, 0x02, 0x42, 0xac, 0x12, 0x00, 0x05);
  fix_route (e0, 0, 0, SV_IP4 (172, 18, 0, 1), false, RTSCOPE_UNIVERSE);
  struct sv_iface *e1 = fix_iface (h, "eth1", SV_IP4 (10, 10, 0, 7), 24, 0, 1500);
  fix_mac (e1->mac, 0x02, 0x42, 0x0a, 0x0a, 0x00, 0x07);
  fix_route (e1, SV_IP4 (10, 20, 0, 0), 16, SV_IP4 (10, 10, 0, 1), false, RTSCOPE_UNIVERSE);
  h->net.n_dns = 1;
  h->net.dns[0] = SV_IP4 (172, 18, 0, 1);
  snprintf (h->net.hostname, sizeof h->net.hostname, "twonets");
}

/* MTU 1400 with DNS servers (one of them Docker's loopback resolver),
 * search domains and a fully qualified hostname. */
static inline void
fix_host_mtu (struct sv_host *h)
{
  fix_host_base (h, true);
  struct sv_iface *e
      = fix_iface (h, "eth0", SV_IP4 (10, 1, 2, 3), 24, SV_IP4 (10, 1, 2, 254), 1400);
  fix_mac (e->mac, 0x02, 0x42, 0x0a, 0x01, 0x02, 0x03);
  fix_route (e, 0, 0, SV_IP4 (10, 1, 2, 254), false, RTSCOPE_UNIVERSE);
  h->net.n_dns = 3;
  h->net.dns[0] = SV_IP4 (10, 1, 0, 53);
  h->net.dns[1] = SV_IP4 (127, 0, 0, 11);
  h->net.dns[2] = SV_IP4 (1, 1, 1, 1);
  h->net.n_search = 2;
  snprintf (h->net.search[0], 256, "corp.example.com");
  snprintf (h->net.search[1], 256, "example.com");
  snprintf (h->net.hostname, sizeof h->net.hostname, "web-1.corp.example.com");
}

#endif
