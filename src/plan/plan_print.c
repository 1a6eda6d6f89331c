/* plan_print: the plan as --dry-run shows it, as text for people and as
 * JSON for programs.  Both formats are stable (golden-file tests in
 * tests/golden/): change them on purpose, and regenerate the goldens. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "handoff.h"
#include "ip6.h"
#include "plan.h"
#include "util.h"

static const char *
firmware_name (enum sv_firmware f)
{
  return f == SV_FIRMWARE_UEFI ? "uefi" : f == SV_FIRMWARE_UEFI_SECURE ? "uefi-secure" : "bios";
}

static const char *
accel_name (enum sv_accel a)
{
  return a == SV_ACCEL_KVM ? "kvm" : a == SV_ACCEL_TCG ? "tcg" : "auto";
}

static const char *
disk_op_name (enum sv_disk_op_kind k)
{
  switch (k)
    {
    case SV_DISK_CREATE_OVERLAY:
      return "create-overlay";
    case SV_DISK_CREATE_EMPTY:
      return "create-empty";
    case SV_DISK_GROW:
      return "grow";
    default:
      return "unknown";
    }
}

static const char *
net_op_name (enum sv_net_op_kind k)
{
  switch (k)
    {
    case SV_OP_LINK_DOWN:
      return "link-down";
    case SV_OP_LINK_SET_MAC:
      return "link-set-mac";
    case SV_OP_ADDR_DEL:
      return "addr-del";
    case SV_OP_BRIDGE_ADD:
      return "bridge-add";
    case SV_OP_TAP_ADD:
      return "tap-add";
    case SV_OP_SET_MASTER:
      return "set-master";
    case SV_OP_LINK_SET_MTU:
      return "link-set-mtu";
    case SV_OP_LINK_UP:
      return "link-up";
    case SV_OP_ADDR_ADD:
      return "addr-add";
    case SV_OP_RA_FILTER:
      return "ra-filter";
    case SV_OP_ADDR6_DEL:
      return "addr6-del";
    case SV_OP_FORWARD6:
      return "forward6";
    case SV_OP_ADDR6_ADD:
      return "addr6-add";
    case SV_OP_ROUTE6_ADD:
      return "route6-add";
    default:
      return "unknown";
    }
}

/* One route the way `ip route` reads. */
static void
format_route (const struct sv_route *r, struct sv_buf *b)
{
  char a[SV_IP4_STRLEN];
  if (r->dst_len == 0)
    sv_buf_add (b, "default");
  else
    sv_buf_addf (b, "%s/%u", sv_ip4_format (r->dst, a), r->dst_len);
  if (r->gateway)
    sv_buf_addf (b, " via %s", sv_ip4_format (r->gateway, a));
  if (r->onlink)
    sv_buf_add (b, " onlink");
  if (r->gateway == 0 && r->scope == SV_RT_SCOPE_LINK)
    sv_buf_add (b, " scope link");
  if (r->metric)
    sv_buf_addf (b, " metric %u", r->metric);
}

/* One IPv6 route the way `ip -6 route` reads. */
static void
format_route6 (const struct sv_route6 *r, struct sv_buf *b)
{
  char a[SV_IP6_STRLEN];
  if (r->dst_len == 0)
    sv_buf_add (b, "default");
  else
    sv_buf_addf (b, "%s/%u", sv_ip6_format (r->dst, a), r->dst_len);
  if (!sv_ip6_is_zero (r->gateway))
    sv_buf_addf (b, " via %s", sv_ip6_format (r->gateway, a));
  if (r->metric)
    sv_buf_addf (b, " metric %u", r->metric);
}

/* ---------------------------------------------------------------- text */

static void
text_observed (const struct sv_host *host, struct sv_buf *b)
{
  const struct sv_net_state *net = &host->net;
  char a[SV_IP4_STRLEN], m[SV_MAC_STRLEN];
  sv_buf_add (b, "Observed network:\n");
  if (net->n_ifaces == 0)
    sv_buf_add (b, "  (no interface to hand off: the VM gets no network card)\n");
  for (size_t i = 0; i < net->n_ifaces && i < SV_MAX_IFACES; i++)
    {
      const struct sv_iface *ifc = &net->ifaces[i];
      sv_buf_add (b, "  ");
      sv_buf_add_escaped (b, ifc->name, SV_ESC_VALUE);
      sv_buf_addf (b, ": mac %s, ", sv_mac_format (ifc->mac, m));
      if (ifc->addr)
        sv_buf_addf (b, "%s/%u", sv_ip4_format (ifc->addr, a), ifc->prefix);
      else
        sv_buf_add (b, "no IPv4 address");
      if (ifc->gateway)
        sv_buf_addf (b, ", gateway %s", sv_ip4_format (ifc->gateway, a));
      else if (ifc->addr)
        sv_buf_add (b, ", no gateway");
      sv_buf_addf (b, ", mtu %u\n", ifc->mtu);
      if (ifc->resumed && ifc->resume_port_pending)
        {
          sv_buf_add (b, "    resumed: ");
          sv_buf_add_escaped (b, ifc->bridge, SV_ESC_VALUE);
          sv_buf_add (b, " holds the handoff an earlier startvm in this network namespace "
                         "began and did not finish; these facts come from its alias\n");
        }
      else if (ifc->resumed)
        {
          sv_buf_add (b, "    resumed: already a port of ");
          sv_buf_add_escaped (b, ifc->bridge, SV_ESC_VALUE);
          sv_buf_add (b, " (an earlier startvm in this network namespace); these facts come "
                         "from its alias\n");
        }
      for (size_t r = 0; r < ifc->n_routes && r < SV_MAX_ROUTES; r++)
        {
          sv_buf_add (b, "    route ");
          format_route (&ifc->routes[r], b);
          sv_buf_add (b, "\n");
        }
      if (ifc->has_addr6)
        {
          char a6[SV_IP6_STRLEN];
          sv_buf_addf (b, "    ipv6 %s/%u", sv_ip6_format (ifc->addr6, a6), ifc->prefix6);
          if (ifc->has_gateway6)
            sv_buf_addf (b, ", gateway %s", sv_ip6_format (ifc->gateway6, a6));
          else
            sv_buf_add (b, ", no IPv6 gateway");
          if (ifc->n_other_addr6)
            sv_buf_addf (b, " (%u more global address(es), not handed off)", ifc->n_other_addr6);
          sv_buf_add (b, "\n");
          for (size_t r = 0; r < ifc->n_routes6 && r < SV_MAX_ROUTES; r++)
            {
              sv_buf_add (b, "    route6 ");
              format_route6 (&ifc->routes6[r], b);
              sv_buf_add (b, "\n");
            }
        }
    }
  sv_buf_add (b, "  dns:");
  if (net->n_dns == 0)
    sv_buf_add (b, " (none)");
  for (size_t i = 0; i < net->n_dns && i < SV_MAX_DNS; i++)
    sv_buf_addf (b, " %s", sv_ip4_format (net->dns[i], a));
  if (net->n_dns6)
    sv_buf_add (b, "\n  dns6:");
  for (size_t i = 0; i < net->n_dns6 && i < SV_MAX_DNS; i++)
    {
      char a6[SV_IP6_STRLEN];
      sv_buf_addf (b, " %s", sv_ip6_format (net->dns6[i], a6));
    }
  sv_buf_add (b, "\n  search:");
  if (net->n_search == 0)
    sv_buf_add (b, " (none)");
  for (size_t i = 0; i < net->n_search && i < SV_MAX_SEARCH; i++)
    {
      sv_buf_add (b, " ");
      sv_buf_add_escaped (b, net->search[i], SV_ESC_VALUE);
    }
  sv_buf_add (b, "\n  hostname: ");
  if (net->hostname[0])
    sv_buf_add_escaped (b, net->hostname, SV_ESC_VALUE);
  else
    sv_buf_add (b, "(none)");
  sv_buf_add (b, "\n");
}

char *
sv_plan_format_text (const struct sv_plan *p, const struct sv_host *host)
{
  struct sv_buf b = { 0 };
  sv_buf_add (&b, "# startvm --dry-run: the plan, nothing was changed\n\n");
  text_observed (host, &b);

  sv_buf_add (&b, "\nWarnings:\n");
  if (p->n_warnings == 0)
    sv_buf_add (&b, "  (none)\n");
  for (size_t i = 0; i < p->n_warnings; i++)
    {
      sv_buf_add (&b, "  - ");
      sv_buf_add_escaped (&b, p->warnings[i], SV_ESC_VALUE);
      sv_buf_add (&b, "\n");
    }

  sv_buf_addf (&b, "\nAccelerator: %s\n", accel_name (p->accel));
  sv_buf_add (&b, "Run directory: ");
  sv_buf_add_shell_word (&b, p->run_dir ? p->run_dir : "");
  sv_buf_add (&b, "\n");

  /* Only when firmware or tpm use data_dir: a plain BIOS VM's plan reads
   * as before. */
  if (p->data_dir)
    {
      sv_buf_addf (&b, "\nFirmware: %s\n", firmware_name (p->firmware));
      sv_buf_add (&b, "Data directory: ");
      sv_buf_add_shell_word (&b, p->data_dir);
      sv_buf_add (&b, "\nData steps:\n");
      if (p->n_data_ops == 0)
        sv_buf_add (&b, "  (none: everything is there from an earlier start)\n");
      for (size_t i = 0; i < p->n_data_ops; i++)
        {
          struct sv_buf op = { 0 };
          sv_data_op_format (&p->data_ops[i], &op);
          sv_buf_addf (&b, "  %zu. %s\n", i + 1, op.data);
          sv_buf_free (&op);
        }
      sv_buf_add (&b, "TPM (swtpm):");
      if (p->swtpm_argv == NULL)
        sv_buf_add (&b, " (none)");
      for (char **a = p->swtpm_argv; a && *a; a++)
        {
          sv_buf_add (&b, " ");
          sv_buf_add_shell_word (&b, *a);
        }
      if (p->swtpm_sock_path)
        {
          sv_buf_addf (&b, "\n  control socket (fd %d): ", SV_SWTPM_CTRL_FD);
          sv_buf_add_shell_word (&b, p->swtpm_sock_path);
          sv_buf_add (&b, "\n  runs in: ");
          sv_buf_add_shell_word (&b, p->swtpm_cwd);
          if (p->swtpm_uid >= 0)
            sv_buf_addf (&b, ", as uid %d gid %d, without capabilities", p->swtpm_uid,
                         p->swtpm_gid);
          else
            sv_buf_add (&b, ", as startvm's uid, without capabilities");
        }
      sv_buf_add (&b, "\n");
    }

  /* Only with shares: other plans read as before. */
  if (p->n_virtiofsd + p->n_shares_9p > 0)
    {
      sv_buf_add (&b, "\nShares:\n");
      for (size_t i = 0; i < p->n_virtiofsd; i++)
        {
          const struct sv_virtiofsd *v = &p->virtiofsd[i];
          sv_buf_addf (&b, "  %s: ", v->tag);
          sv_buf_add_shell_word (&b, v->source);
          sv_buf_add (&b, " read-write over virtiofs (guest: mount -t virtiofs TAG DIR)\n   ");
          for (char **a = v->argv; a && *a; a++)
            {
              sv_buf_add (&b, " ");
              sv_buf_add_shell_word (&b, *a);
            }
          sv_buf_addf (&b, "\n    socket (fd %d): ", SV_VIRTIOFSD_FD);
          sv_buf_add_shell_word (&b, v->sock_path);
          sv_buf_add (&b, "\n");
        }
      for (size_t i = 0; i < p->n_shares_9p; i++)
        {
          sv_buf_addf (&b, "  %s: ", p->shares_9p[i].tag);
          sv_buf_add_shell_word (&b, p->shares_9p[i].source);
          sv_buf_add (&b, " read-only over QEMU's 9p (guest: mount -t 9p -o trans=virtio TAG "
                          "DIR)\n");
        }
    }

  sv_buf_add (&b, "\nDisk steps:\n");
  if (p->n_disk_ops == 0)
    sv_buf_add (&b, "  (none)\n");
  for (size_t i = 0; i < p->n_disk_ops; i++)
    {
      sv_buf_addf (&b, "  %zu. ", i + 1);
      for (char **a = p->disk_ops[i].argv; a && *a; a++)
        {
          if (a != p->disk_ops[i].argv)
            sv_buf_addc (&b, ' ');
          sv_buf_add_shell_word (&b, *a);
        }
      sv_buf_add (&b, "\n");
    }
  if (p->seed_dir)
    {
      sv_buf_add (&b, "  cloud-init seed (disk labelled cidata) from ");
      sv_buf_add_shell_word (&b, p->seed_dir);
      sv_buf_add (&b, ":");
      for (size_t i = 0; i < p->n_seed_files; i++)
        {
          sv_buf_add (&b, " ");
          sv_buf_add_shell_word (&b, p->seed_files[i].name);
        }
      sv_buf_add (&b, "\n");
    }

  sv_buf_add (&b, "\nNetwork steps:\n");
  if (p->n_net_ops == 0)
    sv_buf_add (&b, "  (none)\n");
  for (size_t i = 0; i < p->n_net_ops; i++)
    {
      struct sv_buf op = { 0 };
      sv_net_op_format (&p->net_ops[i], &op);
      sv_buf_addf (&b, "  %2zu. ", i + 1);
      sv_buf_add_escaped (&b, op.data, SV_ESC_VALUE);
      sv_buf_add (&b, "\n");
      sv_buf_free (&op);
    }

  sv_buf_add (&b, "\nDHCP (dnsmasq):\n");
  if (p->dnsmasq_conf == NULL)
    sv_buf_add (&b, "  (none: no interface, or DHCP is off)\n");
  else
    {
      sv_buf_add (&b, "  command:");
      for (char **a = p->dnsmasq_argv; a && *a; a++)
        {
          sv_buf_add (&b, " ");
          sv_buf_add_shell_word (&b, *a);
        }
      sv_buf_add (&b, "\n  ");
      sv_buf_add_shell_word (&b, p->dnsmasq_conf_path ? p->dnsmasq_conf_path : "");
      sv_buf_add (&b, ":\n");
      sv_buf_add (&b, p->dnsmasq_conf);
    }

  /* Pasteable: one shell-quoted argument a line, continued with '\'. */
  /* An option and its value share a line ("-m 1024"), the way people
   * write QEMU commands; a lone word (the binary, -nodefaults, a CMD
   * argument) has a line of its own. */
  sv_buf_add (&b, "\nQEMU command:\n");
  for (size_t i = 0; i < p->qemu_argc; i++)
    {
      const char *w = p->qemu_argv[i];
      if (i > 0)
        sv_buf_add (&b, "  ");
      sv_buf_add_shell_word (&b, w);
      if (i > 0 && w[0] == '-' && i + 1 < p->qemu_argc && p->qemu_argv[i + 1][0] != '-')
        {
          sv_buf_addc (&b, ' ');
          sv_buf_add_shell_word (&b, p->qemu_argv[++i]);
        }
      sv_buf_add (&b, i + 1 < p->qemu_argc ? " \\\n" : "\n");
    }
  return sv_buf_steal (&b);
}

/* ---------------------------------------------------------------- JSON */

static void
json_str (struct sv_buf *b, const char *s)
{
  if (s == NULL)
    sv_buf_add (b, "null");
  else
    sv_buf_add_json_string (b, s);
}

static void
json_ip (struct sv_buf *b, uint32_t a)
{
  char s[SV_IP4_STRLEN];
  json_str (b, sv_ip4_format (a, s));
}

static void
json_ip_or_null (struct sv_buf *b, uint32_t a)
{
  if (a == 0)
    sv_buf_add (b, "null");
  else
    json_ip (b, a);
}

static void
json_mac (struct sv_buf *b, const uint8_t mac[6])
{
  char s[SV_MAC_STRLEN];
  json_str (b, sv_mac_format (mac, s));
}

static void
json_strv (struct sv_buf *b, char *const *v, const char *indent)
{
  if (v == NULL || v[0] == NULL)
    {
      sv_buf_add (b, "[]");
      return;
    }
  sv_buf_add (b, "[\n");
  for (size_t i = 0; v[i]; i++)
    {
      sv_buf_addf (b, "%s  ", indent);
      json_str (b, v[i]);
      sv_buf_add (b, v[i + 1] ? ",\n" : "\n");
    }
  sv_buf_addf (b, "%s]", indent);
}

static void
json_observed (const struct sv_host *host, struct sv_buf *b)
{
  const struct sv_net_state *net = &host->net;
  sv_buf_add (b, "  \"observed\": {\n    \"interfaces\": [");
  size_t n = net->n_ifaces < SV_MAX_IFACES ? net->n_ifaces : SV_MAX_IFACES;
  for (size_t i = 0; i < n; i++)
    {
      const struct sv_iface *ifc = &net->ifaces[i];
      sv_buf_add (b, i ? ",\n      {\n" : "\n      {\n");
      sv_buf_add (b, "        \"name\": ");
      json_str (b, ifc->name);
      sv_buf_add (b, ",\n        \"mac\": ");
      json_mac (b, ifc->mac);
      sv_buf_add (b, ",\n        \"address\": ");
      json_ip_or_null (b, ifc->addr);
      sv_buf_addf (b, ",\n        \"prefix\": %u,\n        \"gateway\": ", ifc->prefix);
      json_ip_or_null (b, ifc->gateway);
      sv_buf_addf (b, ",\n        \"mtu\": %u,\n        ", ifc->mtu);
      /* Only for a resumed interface: the goldens of fresh handoffs stay. */
      if (ifc->resumed)
        {
          sv_buf_add (b, "\"resumed_from\": ");
          json_str (b, ifc->bridge);
          if (ifc->resume_port_pending)
            sv_buf_add (b, ",\n        \"resume_unfinished\": true");
          sv_buf_add (b, ",\n        ");
        }
      sv_buf_add (b, "\"routes\": [");
      size_t nr = ifc->n_routes < SV_MAX_ROUTES ? ifc->n_routes : SV_MAX_ROUTES;
      for (size_t r = 0; r < nr; r++)
        {
          const struct sv_route *rt = &ifc->routes[r];
          char d[SV_IP4_STRLEN];
          struct sv_buf text = { 0 };
          format_route (rt, &text);
          sv_buf_add (b, r ? ",\n          {" : "\n          {");
          sv_buf_addf (b, "\"dst\": \"%s/%u\", \"gateway\": ", sv_ip4_format (rt->dst, d),
                       rt->dst_len);
          json_ip_or_null (b, rt->gateway);
          sv_buf_addf (b, ", \"onlink\": %s, \"metric\": %u, \"text\": ",
                       rt->onlink ? "true" : "false", rt->metric);
          json_str (b, text.data ? text.data : "");
          sv_buf_add (b, "}");
          sv_buf_free (&text);
        }
      sv_buf_add (b, nr ? "\n        ]" : "]");
      /* Only with IPv6: the goldens of IPv4-only handoffs stay. */
      if (ifc->has_addr6)
        {
          char a6[SV_IP6_STRLEN];
          sv_buf_add (b, ",\n        \"address6\": ");
          json_str (b, sv_ip6_format (ifc->addr6, a6));
          sv_buf_addf (b, ",\n        \"prefix6\": %u,\n        \"gateway6\": ", ifc->prefix6);
          json_str (b, ifc->has_gateway6 ? sv_ip6_format (ifc->gateway6, a6) : NULL);
          sv_buf_addf (b, ",\n        \"other_addresses6\": %u", ifc->n_other_addr6);
          sv_buf_add (b, ",\n        \"routes6\": [");
          size_t n6 = ifc->n_routes6 < SV_MAX_ROUTES ? ifc->n_routes6 : SV_MAX_ROUTES;
          for (size_t r = 0; r < n6; r++)
            {
              struct sv_buf text = { 0 };
              format_route6 (&ifc->routes6[r], &text);
              sv_buf_add (b, r ? ",\n          {\"text\": " : "\n          {\"text\": ");
              json_str (b, text.data ? text.data : "");
              sv_buf_addf (b, ", \"metric\": %u}", ifc->routes6[r].metric);
              sv_buf_free (&text);
            }
          sv_buf_add (b, n6 ? "\n        ]" : "]");
        }
      sv_buf_add (b, "\n      }");
    }
  sv_buf_add (b, n ? "\n    ],\n    \"dns\": [" : "],\n    \"dns\": [");
  for (size_t i = 0; i < net->n_dns && i < SV_MAX_DNS; i++)
    {
      if (i)
        sv_buf_add (b, ", ");
      json_ip (b, net->dns[i]);
    }
  if (net->n_dns6)
    {
      sv_buf_add (b, "],\n    \"dns6\": [");
      for (size_t i = 0; i < net->n_dns6 && i < SV_MAX_DNS; i++)
        {
          char a6[SV_IP6_STRLEN];
          sv_buf_add (b, i ? ", " : "");
          json_str (b, sv_ip6_format (net->dns6[i], a6));
        }
    }
  sv_buf_add (b, "],\n    \"search\": [");
  for (size_t i = 0; i < net->n_search && i < SV_MAX_SEARCH; i++)
    {
      if (i)
        sv_buf_add (b, ", ");
      json_str (b, net->search[i]);
    }
  sv_buf_add (b, "],\n    \"hostname\": ");
  json_str (b, net->hostname[0] ? net->hostname : NULL);
  sv_buf_add (b, "\n  },\n");
}

static void
json_net_op (const struct sv_net_op *op, struct sv_buf *b)
{
  struct sv_buf text = { 0 };
  sv_net_op_format (op, &text);
  sv_buf_add (b, "{\"op\": ");
  json_str (b, net_op_name (op->kind));
  sv_buf_add (b, ", \"ifname\": ");
  json_str (b, op->ifname);
  switch (op->kind)
    {
    case SV_OP_LINK_SET_MAC:
      sv_buf_add (b, ", \"mac\": ");
      json_mac (b, op->mac);
      break;
    case SV_OP_ADDR_DEL:
    case SV_OP_ADDR_ADD:
      sv_buf_add (b, ", \"address\": ");
      json_ip (b, op->addr);
      sv_buf_addf (b, ", \"prefix\": %u", op->prefix);
      break;
    case SV_OP_BRIDGE_ADD:
      sv_buf_addf (b, ", \"mtu\": %u, \"alias\": ", op->mtu);
      json_str (b, op->alias);
      break;
    case SV_OP_TAP_ADD:
    case SV_OP_LINK_SET_MTU:
      sv_buf_addf (b, ", \"mtu\": %u", op->mtu);
      break;
    case SV_OP_SET_MASTER:
      sv_buf_add (b, ", \"master\": ");
      json_str (b, op->master);
      break;
    case SV_OP_ADDR6_DEL:
    case SV_OP_ADDR6_ADD:
      {
        char a6[SV_IP6_STRLEN];
        sv_buf_add (b, ", \"address6\": ");
        json_str (b, sv_ip6_format (op->addr6, a6));
        sv_buf_addf (b, ", \"prefix\": %u", op->prefix);
        break;
      }
    default:
      break;
    }
  sv_buf_addf (b, ", \"index\": %d, \"text\": ", op->index);
  json_str (b, text.data ? text.data : "");
  sv_buf_add (b, "}");
  sv_buf_free (&text);
}

char *
sv_plan_format_json (const struct sv_plan *p, const struct sv_host *host)
{
  struct sv_buf b = { 0 };
  sv_buf_add (&b, "{\n");
  json_observed (host, &b);

  sv_buf_add (&b, "  \"warnings\": ");
  json_strv (&b, p->warnings, "  ");
  sv_buf_add (&b, ",\n  \"accel\": ");
  json_str (&b, accel_name (p->accel));
  sv_buf_add (&b, ",\n  \"run_dir\": ");
  json_str (&b, p->run_dir);
  sv_buf_add (&b, ",\n  \"qmp_path\": ");
  json_str (&b, p->qmp_path);
  sv_buf_add (&b, ",\n  \"control_path\": ");
  json_str (&b, p->control_path);
  sv_buf_add (&b, ",\n  \"vnc_path\": ");
  json_str (&b, p->vnc_path);

  sv_buf_add (&b, ",\n  \"firmware\": ");
  json_str (&b, firmware_name (p->firmware));
  sv_buf_add (&b, ",\n  \"data_dir\": ");
  json_str (&b, p->data_dir);
  sv_buf_add (&b, ",\n  \"data_steps\": [");
  for (size_t i = 0; i < p->n_data_ops; i++)
    {
      const struct sv_data_op *op = &p->data_ops[i];
      struct sv_buf text = { 0 };
      sv_data_op_format (op, &text);
      sv_buf_add (&b, i ? ",\n    {\"op\": " : "\n    {\"op\": ");
      json_str (&b, op->kind == SV_DATA_COPY    ? "copy"
                    : op->kind == SV_DATA_CHOWN ? "chown"
                                                : "mkdir");
      sv_buf_add (&b, ", \"path\": ");
      json_str (&b, op->path);
      if (op->src)
        {
          sv_buf_add (&b, ", \"src\": ");
          json_str (&b, op->src);
        }
      if (op->kind == SV_DATA_CHOWN)
        sv_buf_addf (&b, ", \"uid\": %u, \"gid\": %u, \"text\": ", op->uid, op->gid);
      else
        sv_buf_addf (&b, ", \"mode\": \"%04o\", \"text\": ", op->mode);
      json_str (&b, text.data);
      sv_buf_add (&b, "}");
      sv_buf_free (&text);
    }
  sv_buf_add (&b, p->n_data_ops ? "\n  ],\n" : "],\n");
  sv_buf_add (&b, "  \"swtpm\": ");
  if (p->swtpm_argv == NULL)
    sv_buf_add (&b, "null");
  else
    {
      sv_buf_add (&b, "{\n    \"ctrl_socket\": ");
      json_str (&b, p->swtpm_sock_path);
      sv_buf_addf (&b, ",\n    \"ctrl_fd\": %d", SV_SWTPM_CTRL_FD);
      sv_buf_add (&b, ",\n    \"cwd\": ");
      json_str (&b, p->swtpm_cwd);
      if (p->swtpm_uid >= 0)
        sv_buf_addf (&b, ",\n    \"uid\": %d,\n    \"gid\": %d", p->swtpm_uid, p->swtpm_gid);
      else
        sv_buf_add (&b, ",\n    \"uid\": null,\n    \"gid\": null");
      sv_buf_add (&b, ",\n    \"argv\": ");
      json_strv (&b, p->swtpm_argv, "    ");
      sv_buf_add (&b, "\n  }");
    }

  sv_buf_add (&b, ",\n  \"shares\": [");
  for (size_t i = 0; i < p->n_virtiofsd; i++)
    {
      const struct sv_virtiofsd *v = &p->virtiofsd[i];
      sv_buf_add (&b, i ? ",\n    {\"tag\": " : "\n    {\"tag\": ");
      json_str (&b, v->tag);
      sv_buf_add (&b, ", \"source\": ");
      json_str (&b, v->source);
      sv_buf_add (&b, ", \"readonly\": false, \"transport\": \"virtiofs\", \"socket\": ");
      json_str (&b, v->sock_path);
      sv_buf_addf (&b, ", \"fd\": %d, \"argv\": ", SV_VIRTIOFSD_FD);
      json_strv (&b, v->argv, "    ");
      sv_buf_add (&b, "}");
    }
  for (size_t i = 0; i < p->n_shares_9p; i++)
    {
      sv_buf_add (&b, i + p->n_virtiofsd ? ",\n    {\"tag\": " : "\n    {\"tag\": ");
      json_str (&b, p->shares_9p[i].tag);
      sv_buf_add (&b, ", \"source\": ");
      json_str (&b, p->shares_9p[i].source);
      sv_buf_add (&b, ", \"readonly\": true, \"transport\": \"9p\"}");
    }
  sv_buf_add (&b, p->n_virtiofsd + p->n_shares_9p ? "\n  ]" : "]");

  sv_buf_add (&b, ",\n  \"disk_steps\": [");
  for (size_t i = 0; i < p->n_disk_ops; i++)
    {
      sv_buf_add (&b, i ? ",\n    {\"op\": " : "\n    {\"op\": ");
      json_str (&b, disk_op_name (p->disk_ops[i].kind));
      sv_buf_add (&b, ", \"file\": ");
      json_str (&b, p->disk_ops[i].file);
      sv_buf_add (&b, ", \"argv\": ");
      json_strv (&b, p->disk_ops[i].argv, "    ");
      sv_buf_add (&b, "}");
    }
  sv_buf_add (&b, p->n_disk_ops ? "\n  ],\n" : "],\n");
  sv_buf_add (&b, "  \"cloud_init_seed\": ");
  if (p->seed_dir == NULL)
    sv_buf_add (&b, "null");
  else
    {
      sv_buf_add (&b, "{\"dir\": ");
      json_str (&b, p->seed_dir);
      sv_buf_add (&b, ", \"files\": [");
      for (size_t i = 0; i < p->n_seed_files; i++)
        {
          if (i)
            sv_buf_add (&b, ", ");
          json_str (&b, p->seed_files[i].name);
        }
      sv_buf_add (&b, "]}");
    }

  sv_buf_add (&b, ",\n  \"network_steps\": [");
  for (size_t i = 0; i < p->n_net_ops; i++)
    {
      sv_buf_add (&b, i ? ",\n    " : "\n    ");
      json_net_op (&p->net_ops[i], &b);
    }
  sv_buf_add (&b, p->n_net_ops ? "\n  ],\n" : "],\n");
  sv_buf_addf (&b, "  \"taps\": %zu,\n", p->n_taps);

  sv_buf_add (&b, "  \"dnsmasq\": ");
  if (p->dnsmasq_conf == NULL)
    sv_buf_add (&b, "null");
  else
    {
      sv_buf_add (&b, "{\n    \"conf_path\": ");
      json_str (&b, p->dnsmasq_conf_path);
      sv_buf_add (&b, ",\n    \"argv\": ");
      json_strv (&b, p->dnsmasq_argv, "    ");
      sv_buf_add (&b, ",\n    \"conf\": ");
      json_str (&b, p->dnsmasq_conf);
      sv_buf_add (&b, "\n  }");
    }

  sv_buf_add (&b, ",\n  \"qemu_argv\": ");
  json_strv (&b, p->qemu_argv, "  ");
  sv_buf_add (&b, "\n}\n");
  return sv_buf_steal (&b);
}
