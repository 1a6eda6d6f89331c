/* plan_disks: the disk part of the plan.  Pure: every decision comes from
 * the config and what sv_disks_observe recorded in host->disks and
 * host->images; no stat, no getenv.
 *
 * Each disk becomes two -blockdev nodes (a "file" protocol node and the
 * format node on top, so the format is always explicit and QEMU never
 * probes) in JSON syntax, which needs no comma escaping and so cannot be
 * injected into, and one -device on the requested bus.  Missing disks
 * become qemu-img ops that sv_disks_apply runs just before QEMU starts. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "error.h"
#include "plan_internal.h"
#include "util.h"

#define SIDECAR_SUFFIX ".startvm-base"

/* One disk to attach, from config->disks[i] or from the convention. */
struct disk_spec
{
  const char *file;
  const char *base; /* NULL: no overlay */
  uint64_t size;    /* 0: not set */
  const char *format;
  const char *bus;
  const char *cache; /* NULL: QEMU's default */
  bool readonly;
  bool cdrom;
  int boot_index; /* -1: not set */
  const struct sv_disk_state *st;
};

/* Bus bookkeeping shared by all disks: controllers are added once, and
 * IDE/AHCI ports are handed out in order. */
struct bus_state
{
  bool q35;
  bool scsi_added;
  bool ahci_added;
  unsigned ide_ports;  /* ports used on the q35 AHCI (ide) or PIIX IDE (pc) */
  unsigned sata_ports; /* ports used on our own AHCI controller (pc) */
};

static int env_error (sv_error_t *err, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

static int
env_error (sv_error_t *err, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  cleanup_free char *msg = sv_xvasprintf (fmt, ap);
  va_end (ap);
  return sv_error_make (err, SV_EXIT_ENV, SV_SRC_CONFIG, 0, "%s", msg);
}

/* "20G", "512M", or bytes when not a round number: for messages. */
static void
format_size (uint64_t bytes, char *buf, size_t len)
{
  static const struct
  {
    uint64_t unit;
    char suffix;
  } units[]
      = { { 1ULL << 40, 'T' }, { 1ULL << 30, 'G' }, { 1ULL << 20, 'M' }, { 1ULL << 10, 'K' } };
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
    if (bytes >= units[i].unit && bytes % units[i].unit == 0)
      {
        snprintf (buf, len, "%" PRIu64 "%c", bytes / units[i].unit, units[i].suffix);
        return;
      }
  snprintf (buf, len, "%" PRIu64 " bytes", bytes);
}

/* A relative path handed to qemu-img could start with a protocol prefix
 * ("nbd:", "fat:"); "./" makes it a plain file name.  Observe already
 * makes paths absolute, this is the belt to its braces. */
static char *
plain_path (const char *p)
{
  if (p[0] == '/')
    return sv_xstrdup (p);
  struct sv_buf b = { 0 };
  sv_buf_add (&b, "./");
  sv_buf_add (&b, p);
  return sv_buf_steal (&b);
}

/* Format for a disk created empty when the config says auto: by the file
 * name's extension, raw otherwise (what a .img is by convention). */
static const char *
format_from_name (const char *file)
{
  static const char *const known[] = { "qcow2", "vmdk", "vdi", "vhdx", "qed" };
  const char *dot = strrchr (file, '.');
  if (dot && strchr (dot, '/') == NULL)
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
      if (strcmp (dot + 1, known[i]) == 0)
        return known[i];
  return "raw";
}

static bool
format_is_auto (const char *f)
{
  return f == NULL || *f == '\0' || strcmp (f, "auto") == 0;
}

static struct sv_disk_op *
add_op (struct sv_plan *out, enum sv_disk_op_kind kind, const char *file)
{
  out->disk_ops = sv_xrealloc (out->disk_ops, (out->n_disk_ops + 1) * sizeof *out->disk_ops);
  struct sv_disk_op *op = &out->disk_ops[out->n_disk_ops++];
  *op = (struct sv_disk_op){ .kind = kind, .file = sv_xstrdup (file) };
  return op;
}

/* `qemu-img create|resize -f FORMAT FILE SIZE`: an empty disk, or a grown one. */
static void
add_sized_op (struct sv_plan *out, enum sv_disk_op_kind kind, const char *format, const char *file,
              uint64_t size)
{
  struct sv_disk_op *op = add_op (out, kind, file);
  struct sv_strv a = { 0 };
  cleanup_free char *path = plain_path (file);
  sv_strv_add (&a, "qemu-img");
  sv_strv_add (&a, kind == SV_DISK_GROW ? "resize" : "create");
  sv_strv_add (&a, "-f");
  sv_strv_add (&a, format);
  sv_strv_add (&a, path);
  sv_strv_addf (&a, "%" PRIu64, size);
  op->argv = a.v;
}

static char *
sidecar_text (const char *base, const struct sv_base_fingerprint *fp)
{
  struct sv_buf b = { 0 };
  sv_buf_add (&b, "# startvm: the base image this overlay was created on.  startvm refuses to\n"
                  "# start the VM when the base changes: the overlay would read as garbage.\n"
                  "base=");
  for (const char *c = base; *c; c++)
    sv_buf_addc (&b, (*c == '\n' || *c == '\r') ? '?' : *c);
  sv_buf_addf (&b, "\nsize=%" PRIu64 "\nmtime=%" PRId64 "\nsample=%016" PRIx64 "\n", fp->size,
               fp->mtime, fp->sample);
  return sv_buf_steal (&b);
}

/* Checks an existing image that should sit on `base`.  Returns <0 when it
 * must not be used. */
static int
check_overlay (const struct disk_spec *d, struct sv_plan *out, struct sv_strv *warnings,
               sv_error_t *err)
{
  const struct sv_disk_state *st = d->st;
  if (st->backing[0] == '\0')
    {
      sv_strv_addf (warnings,
                    "disk %s exists and has no backing file: it is used as it is and base %s is "
                    "ignored",
                    d->file, d->base);
      return 0;
    }
  if (!st->backing_exists)
    return env_error (err,
                      "disk %s: its backing file %s is missing; restore it, or delete %s to "
                      "start over from %s (the VM's changes would be lost)",
                      d->file, st->backing, d->file, d->base);
  if (!st->backing_is_base)
    return env_error (err,
                      "disk %s is an overlay on %s, but the base image is now %s; put the old "
                      "base back, or delete %s to start over (the VM's changes would be lost)",
                      d->file, st->backing, d->base, d->file);
  if (st->recorded.valid && st->base_fp.valid)
    {
      const struct sv_base_fingerprint *r = &st->recorded, *now = &st->base_fp;
      if (r->size != now->size || r->sample != now->sample)
        {
          char was[32], is[32];
          format_size (r->size, was, sizeof was);
          format_size (now->size, is, sizeof is);
          return env_error (err,
                            "disk %s: its base image %s changed since the overlay was created "
                            "(%s%s%s%s); an overlay on a changed base reads as garbage: put the "
                            "old base back, or delete %s and %s%s to start over (the VM's "
                            "changes would be lost)",
                            d->file, d->base, r->size != now->size ? "size " : "content",
                            r->size != now->size ? was : "", r->size != now->size ? " -> " : "",
                            r->size != now->size ? is : "", d->file, d->file, SIDECAR_SUFFIX);
        }
      if (r->mtime != now->mtime)
        sv_strv_addf (warnings,
                      "base image %s of disk %s was modified (mtime) since the overlay was "
                      "created, but its size and sampled content are the same: using it",
                      d->base, d->file);
    }
  return 0;
}

/* Decides what to do with one disk: ops to create or grow it.  Sets
 * *format to the format QEMU gets. */
static int
plan_one (const struct disk_spec *d, struct sv_plan *out, struct sv_strv *warnings,
          const char **format, sv_error_t *err)
{
  const struct sv_disk_state *st = d->st;
  char want[32], have[32];

  if (st->is_dir)
    return env_error (err, "disk %s is a directory, not a disk image", d->file);
  /* QEMU's ide-hd refuses a read-only node ("Block node is read-only"). */
  if (d->readonly && !d->cdrom && (strcmp (d->bus, "sata") == 0 || strcmp (d->bus, "ide") == 0))
    return sv_error_config (err,
                            "disk %s: a %s disk cannot be read-only in QEMU (use bus virtio or "
                            "scsi, or media cdrom)",
                            d->file, d->bus);

  if (st->exists)
    {
      if (d->base && check_overlay (d, out, warnings, err) < 0)
        return -1;
      *format = format_is_auto (d->format) ? st->format : d->format;
      if (*format == NULL || **format == '\0')
        return env_error (err, "disk %s: its format is unknown (qemu-img info found none)",
                          d->file);
      if (d->size && st->virtual_size > d->size)
        {
          format_size (d->size, want, sizeof want);
          format_size (st->virtual_size, have, sizeof have);
          return sv_error_config (err,
                                  "disk %s: size %s is smaller than the disk's current size %s; "
                                  "disks grow, never shrink (raise size to at least %s)",
                                  d->file, want, have, have);
        }
      if (d->size && st->virtual_size < d->size)
        add_sized_op (out, SV_DISK_GROW, *format, d->file, d->size);
      return 0;
    }

  /* Missing: create it, but only when the config says how. */
  if (d->cdrom || d->readonly)
    return env_error (err, "disk %s does not exist (a %s disk is never created)", d->file,
                      d->cdrom ? "cdrom" : "read-only");
  if (d->base)
    {
      if (!st->base_exists)
        return env_error (err, "disk %s: its base image %s does not exist", d->file, d->base);
      if (!format_is_auto (d->format) && strcmp (d->format, "qcow2") != 0)
        return sv_error_config (err,
                                "disk %s: format %s cannot be an overlay on base %s (use qcow2 "
                                "or auto)",
                                d->file, d->format, d->base);
      if (st->base_format[0] == '\0' || st->base_virtual_size == 0)
        return env_error (err, "disk %s: base image %s is empty or unreadable", d->file, d->base);
      if (d->size && d->size < st->base_virtual_size)
        {
          format_size (d->size, want, sizeof want);
          format_size (st->base_virtual_size, have, sizeof have);
          return sv_error_config (err,
                                  "disk %s: size %s is smaller than its base image %s (%s); "
                                  "disks grow, never shrink",
                                  d->file, want, d->base, have);
        }
      *format = "qcow2";
      struct sv_disk_op *op = add_op (out, SV_DISK_CREATE_OVERLAY, d->file);
      struct sv_strv a = { 0 };
      cleanup_free char *path = plain_path (d->file);
      cleanup_free char *base = plain_path (d->base);
      sv_strv_add (&a, "qemu-img");
      sv_strv_add (&a, "create");
      sv_strv_add (&a, "-f");
      sv_strv_add (&a, "qcow2");
      sv_strv_add (&a, "-F");
      sv_strv_add (&a, st->base_format);
      sv_strv_add (&a, "-b");
      sv_strv_add (&a, base);
      sv_strv_add (&a, path);
      if (d->size)
        sv_strv_addf (&a, "%" PRIu64, d->size);
      op->argv = a.v;
      struct sv_buf sp = { 0 };
      sv_buf_add (&sp, path);
      sv_buf_add (&sp, SIDECAR_SUFFIX);
      op->sidecar_path = sv_buf_steal (&sp);
      op->sidecar_content = sidecar_text (base, &st->base_fp);
      return 0;
    }
  if (d->size)
    {
      *format = format_is_auto (d->format) ? format_from_name (d->file) : d->format;
      add_sized_op (out, SV_DISK_CREATE_EMPTY, *format, d->file, d->size);
      return 0;
    }
  return env_error (err,
                    "disk %s does not exist (give it a size to create it empty, or a base to "
                    "make it an overlay)",
                    d->file);
}

/* cache= of -drive, spelled out for -blockdev nodes and the device. */
static void
add_cache_json (struct sv_buf *b, const char *cache)
{
  if (cache == NULL)
    return;
  bool direct = strcmp (cache, "none") == 0 || strcmp (cache, "directsync") == 0;
  bool no_flush = strcmp (cache, "unsafe") == 0;
  sv_buf_addf (b, ",\"cache\":{\"direct\":%s,\"no-flush\":%s}", direct ? "true" : "false",
               no_flush ? "true" : "false");
}

static const char *
write_cache (const char *cache)
{
  if (cache == NULL)
    return NULL;
  if (strcmp (cache, "writethrough") == 0 || strcmp (cache, "directsync") == 0)
    return "off";
  return "on";
}

/* The options both nodes of a disk share, the closing brace, and the
 * -blockdev argument itself. */
static void
finish_blockdev (struct sv_strv *argv, struct sv_buf *b, bool ro, const char *cache)
{
  sv_buf_addf (b, ",\"read-only\":%s", ro ? "true" : "false");
  add_cache_json (b, cache);
  if (!ro)
    sv_buf_add (b, ",\"discard\":\"unmap\"");
  sv_buf_add (b, "}");
  sv_strv_add (argv, "-blockdev");
  sv_strv_add (argv, b->data);
  sv_buf_free (b);
}

static void
add_blockdevs (struct sv_strv *argv, size_t i, const struct disk_spec *d, const char *format)
{
  bool ro = d->readonly || d->cdrom;
  struct sv_buf b = { 0 };
  sv_buf_addf (&b, "{\"driver\":\"file\",\"node-name\":\"disk%zu-file\",\"filename\":", i);
  sv_buf_add_json_string (&b, d->file);
  finish_blockdev (argv, &b, ro, d->cache);

  sv_buf_add (&b, "{\"driver\":");
  sv_buf_add_json_string (&b, format);
  sv_buf_addf (&b, ",\"node-name\":\"disk%zu\",\"file\":\"disk%zu-file\"", i, i);
  finish_blockdev (argv, &b, ro, d->cache);
}

/* Appends the -device for node `node` on `bus`, adding the controller the
 * first time a bus needs one. */
static int
add_device (struct sv_strv *argv, struct bus_state *bs, const char *node, const char *bus,
            bool cdrom, int boot_index, const char *cache, const char *what, sv_error_t *err)
{
  struct sv_buf b = { 0 };
  if (strcmp (bus, "virtio") == 0 && !cdrom)
    sv_buf_add (&b, "virtio-blk-pci");
  else if (strcmp (bus, "scsi") == 0 || strcmp (bus, "virtio") == 0)
    {
      /* A cdrom has no virtio-blk form: virtio means virtio-scsi for it. */
      if (!bs->scsi_added)
        {
          sv_strv_add (argv, "-device");
          sv_strv_add (argv, "virtio-scsi-pci,id=scsi0");
          bs->scsi_added = true;
        }
      sv_buf_addf (&b, "%s,bus=scsi0.0", cdrom ? "scsi-cd" : "scsi-hd");
    }
  else if (strcmp (bus, "ide") == 0 || (strcmp (bus, "sata") == 0 && bs->q35))
    {
      /* q35's built-in ICH9 AHCI has six ports named ide.0-ide.5, one
       * device each; pc's PIIX IDE has two buses with two units each. */
      unsigned max = bs->q35 ? 6 : 4;
      if (bs->ide_ports >= max)
        {
          sv_buf_free (&b);
          return sv_error_config (err, "%s: too many sata/ide disks (this machine has %u ports)",
                                  what, max);
        }
      if (bs->q35)
        sv_buf_addf (&b, "%s,bus=ide.%u", cdrom ? "ide-cd" : "ide-hd", bs->ide_ports);
      else
        sv_buf_addf (&b, "%s,bus=ide.%u,unit=%u", cdrom ? "ide-cd" : "ide-hd", bs->ide_ports / 2,
                     bs->ide_ports % 2);
      bs->ide_ports++;
    }
  else if (strcmp (bus, "sata") == 0)
    {
      if (bs->sata_ports >= 6)
        {
          sv_buf_free (&b);
          return sv_error_config (err, "%s: too many sata disks (at most 6)", what);
        }
      if (!bs->ahci_added)
        {
          sv_strv_add (argv, "-device");
          sv_strv_add (argv, "ahci,id=sata0");
          bs->ahci_added = true;
        }
      sv_buf_addf (&b, "%s,bus=sata0.%u", cdrom ? "ide-cd" : "ide-hd", bs->sata_ports++);
    }
  else
    {
      sv_buf_free (&b);
      return sv_error_config (err, "%s: bus '%s' is not one of virtio, scsi, sata, ide", what, bus);
    }
  sv_buf_addf (&b, ",drive=%s,id=%s-dev", node, node);
  if (boot_index >= 0)
    sv_buf_addf (&b, ",bootindex=%d", boot_index);
  if (write_cache (cache) && !cdrom)
    sv_buf_addf (&b, ",write-cache=%s", write_cache (cache));
  sv_strv_add (argv, "-device");
  sv_strv_add (argv, b.data);
  sv_buf_free (&b);
  return 0;
}

/* ---- cloud-init ---- */

/* A YAML double-quoted scalar: safe for any id or hostname. */
static void
add_yaml_string (struct sv_buf *b, const char *s)
{
  sv_buf_addc (b, '"');
  for (const unsigned char *c = (const unsigned char *)s; *c; c++)
    {
      if (*c == '"' || *c == '\\')
        {
          sv_buf_addc (b, '\\');
          sv_buf_addc (b, (char)*c);
        }
      else if (*c < 0x20 || *c == 0x7f)
        sv_buf_addf (b, "\\x%02x", *c);
      else
        sv_buf_addc (b, (char)*c);
    }
  sv_buf_addc (b, '"');
}

/* Does the YAML meta-data set `key` at the top level?  A line-level check
 * is enough: top-level keys start in column 0. */
static bool
yaml_has_key (const char *text, const char *key)
{
  size_t n = strlen (key);
  for (const char *l = text; l && *l; l = strchr (l, '\n'), l = l ? l + 1 : NULL)
    {
      const char *p = l;
      bool quoted = (*p == '"' || *p == '\'');
      if (quoted)
        p++;
      if (strncmp (p, key, n) != 0)
        continue;
      p += n;
      if (quoted && (*p == '"' || *p == '\''))
        p++;
      while (*p == ' ' || *p == '\t')
        p++;
      if (*p == ':')
        return true;
    }
  return false;
}

/* meta-data: the user's, plus instance-id (stable for this container: a
 * new container is a new instance, as cloud-init expects) and
 * local-hostname (the container's) unless the user set them. */
char *
sv_plan_cloud_init_meta_data (const char *user, const char *container_id, const char *hostname)
{
  struct sv_buf add = { 0 };
  const char *u = user ? user : "";
  const char *first = u + strspn (u, " \t\r\n");
  bool json = *first == '{';
  bool need_id = json ? strstr (u, "\"instance-id\"") == NULL : !yaml_has_key (u, "instance-id");
  bool need_host
      = json ? strstr (u, "\"local-hostname\"") == NULL : !yaml_has_key (u, "local-hostname");
  if (need_id)
    {
      struct sv_buf id = { 0 };
      sv_buf_add (&id, "iid-");
      sv_buf_add (&id, container_id && *container_id ? container_id : "startvm");
      sv_buf_add (&add, json ? "\"instance-id\": " : "instance-id: ");
      add_yaml_string (&add, id.data);
      sv_buf_free (&id);
      sv_buf_add (&add, json ? ", " : "\n");
    }
  if (need_host && hostname && *hostname)
    {
      sv_buf_add (&add, json ? "\"local-hostname\": " : "local-hostname: ");
      add_yaml_string (&add, hostname);
      sv_buf_add (&add, json ? ", " : "\n");
    }
  struct sv_buf b = { 0 };
  if (json)
    {
      /* JSON is YAML too; keep it JSON by inserting after the brace. */
      const char *rest = first + 1;
      sv_buf_addn (&b, u, (size_t)(rest - u));
      if (add.len)
        {
          const char *next = rest + strspn (rest, " \t\r\n");
          if (*next == '}') /* empty object: no trailing comma */
            add.data[add.len -= 2] = '\0';
          sv_buf_add (&b, add.data);
        }
      sv_buf_add (&b, rest);
    }
  else
    {
      sv_buf_add (&b, u);
      if (b.len && b.data[b.len - 1] != '\n')
        sv_buf_addc (&b, '\n');
      if (add.len)
        sv_buf_add (&b, add.data);
    }
  sv_buf_free (&add);
  return sv_buf_steal (&b);
}

static void
add_seed_file (struct sv_plan *out, const char *name, char *content)
{
  out->seed_files
      = sv_xrealloc (out->seed_files, (out->n_seed_files + 1) * sizeof *out->seed_files);
  out->seed_files[out->n_seed_files++]
      = (struct sv_seed_file){ .name = sv_xstrdup (name), .content = content };
}

static int
plan_seed (const struct sv_vm_config *cfg, const struct sv_host *host, struct sv_strv *argv,
           struct bus_state *bs, const char *bus, struct sv_plan *out, sv_error_t *err)
{
  const struct sv_images_state *im = &host->images;
  const char *user_data = cfg->cloud_init.user_data ? cfg->cloud_init.user_data
                                                    : (im->has_user_data ? im->user_data : NULL);
  const char *meta_data = cfg->cloud_init.meta_data ? cfg->cloud_init.meta_data
                                                    : (im->has_meta_data ? im->meta_data : NULL);
  const char *network_config = cfg->cloud_init.network_config
                                   ? cfg->cloud_init.network_config
                                   : (im->has_network_config ? im->network_config : NULL);
  if (!user_data && !meta_data && !network_config)
    return 0;

  struct sv_buf dir = { 0 };
  if (out->run_dir)
    sv_buf_add (&dir, out->run_dir);
  else
    sv_buf_addf (&dir, "%s/%s", cfg->state_dir ? cfg->state_dir : "/ranchervm",
                 host->container_id[0] ? host->container_id : "default");
  sv_buf_add (&dir, "/cidata");
  out->seed_dir = sv_buf_steal (&dir);

  /* NoCloud wants both user-data and meta-data present. */
  add_seed_file (out, "meta-data",
                 sv_plan_cloud_init_meta_data (meta_data, host->container_id, host->net.hostname));
  add_seed_file (out, "user-data", sv_xstrdup (user_data ? user_data : ""));
  if (network_config)
    add_seed_file (out, "network-config", sv_xstrdup (network_config));

  /* QEMU presents the directory as a FAT disk (vvfat): no image tool, and
   * the files are read when QEMU opens it, after apply wrote them. */
  struct sv_buf b = { 0 };
  sv_buf_add (&b, "{\"driver\":\"vvfat\",\"node-name\":\"cidata\",\"dir\":");
  sv_buf_add_json_string (&b, out->seed_dir);
  sv_buf_add (&b, ",\"label\":\"cidata\",\"read-only\":true}");
  sv_strv_add (argv, "-blockdev");
  sv_strv_add (argv, b.data);
  sv_buf_free (&b);
  return add_device (argv, bs, "cidata", bus, false, -1, NULL, "cloud-init seed", err);
}

int
sv_plan_disks (const struct sv_vm_config *cfg, const struct sv_host *host, struct sv_strv *argv,
               struct sv_plan *out, sv_error_t *err)
{
  static const struct sv_disk_state unobserved = { 0 };
  struct disk_spec specs[SV_MAX_DISKS];
  size_t n = 0;

  if (cfg->n_disks > 0)
    {
      /* sv_cfg_validate has checked the count and that every disk has a
       * file; the bound only keeps a hand-built config in the array. */
      for (size_t i = 0; i < cfg->n_disks && i < SV_MAX_DISKS; i++)
        {
          const struct sv_disk_config *c = &cfg->disks[i];
          const struct sv_disk_state *st = i < host->n_disks ? &host->disks[i] : &unobserved;
          specs[n++] = (struct disk_spec){
            .file = st->file[0] ? st->file : c->file,
            .base = st->base[0] ? st->base : c->base,
            .size = c->size,
            .format = c->format,
            .bus = c->bus ? c->bus : "virtio",
            .cache = c->cache,
            .readonly = c->readonly,
            .cdrom = c->media && strcmp (c->media, "cdrom") == 0,
            .boot_index = c->boot_index,
            .st = st,
          };
        }
    }
  else
    {
      const struct sv_images_state *im = &host->images;
      if (im->base_dir_exists && im->n_base_images == 0)
        return env_error (err,
                          "no image in %s/base_image: put exactly one VM image (qcow2 or raw) "
                          "there, or list disks in vm.yaml",
                          im->root);
      if (im->base_dir_exists && im->n_base_images > 1)
        return env_error (err,
                          "%s/base_image holds %zu images (%s, %s%s): it must hold exactly one",
                          im->root, im->n_base_images, im->base_images[0], im->base_images[1],
                          im->n_base_images > 2 ? ", ..." : "");
      for (size_t i = 0; i < host->n_disks && i < SV_MAX_DISKS; i++)
        {
          const struct sv_disk_state *st = &host->disks[i];
          /* Disk 0 of the convention is the overlay on the base image;
           * the volumes after it are used as they are, format detected. */
          specs[n++] = (struct disk_spec){
            .file = st->file,
            .base = st->base[0] ? st->base : NULL,
            .format = st->base[0] ? "qcow2" : "auto",
            .bus = "virtio",
            .boot_index = -1,
            .st = st,
          };
        }
    }

  struct bus_state bs = { .q35 = sv_machine_is_q35 (cfg->machine) };
  struct sv_strv warnings = { 0 };
  int ret = 0;
  for (size_t i = 0; i < n && ret == 0; i++)
    {
      const char *format = NULL;
      ret = plan_one (&specs[i], out, &warnings, &format, err);
      if (ret < 0)
        break;
      add_blockdevs (argv, i, &specs[i], format);
      char node[32];
      snprintf (node, sizeof node, "disk%zu", i);
      ret = add_device (argv, &bs, node, specs[i].bus, specs[i].cdrom, specs[i].boot_index,
                        specs[i].cache, specs[i].file, err);
    }
  if (ret == 0)
    {
      const char *seed_bus = "virtio";
      for (size_t i = 0; i < n; i++)
        if (!specs[i].cdrom)
          {
            /* A guest without virtio drivers reads the seed on the bus
             * its own disk uses. */
            if (strcmp (specs[i].bus, "sata") == 0 || strcmp (specs[i].bus, "ide") == 0)
              seed_bus = specs[i].bus;
            break;
          }
      ret = plan_seed (cfg, host, argv, &bs, seed_bus, out, err);
    }
  for (size_t i = 0; i < warnings.n; i++)
    {
      out->warnings = sv_xrealloc (out->warnings, (out->n_warnings + 2) * sizeof *out->warnings);
      out->warnings[out->n_warnings++] = steal_pointer (&warnings.v[i]);
      out->warnings[out->n_warnings] = NULL;
    }
  sv_strv_free (&warnings);
  return ret;
}

void
sv_plan_disks_free (struct sv_plan *p)
{
  for (size_t i = 0; i < p->n_disk_ops; i++)
    {
      sv_strv_free_raw (p->disk_ops[i].argv);
      free (p->disk_ops[i].file);
      free (p->disk_ops[i].sidecar_path);
      free (p->disk_ops[i].sidecar_content);
    }
  free (p->disk_ops);
  p->disk_ops = NULL;
  p->n_disk_ops = 0;
  for (size_t i = 0; i < p->n_seed_files; i++)
    {
      free (p->seed_files[i].name);
      free (p->seed_files[i].content);
    }
  free (p->seed_files);
  p->seed_files = NULL;
  p->n_seed_files = 0;
  free (p->seed_dir);
  p->seed_dir = NULL;
}
