#include "config.h"

#include <inttypes.h>
#include <stdlib.h>

#include "util.h"

void
sv_vm_config_free (struct sv_vm_config *c)
{
  if (c == NULL)
    return;
  free (c->name);
  free (c->machine);
  free (c->boot.kernel);
  free (c->boot.initrd);
  free (c->boot.append);
  for (size_t i = 0; i < c->n_disks; i++)
    {
      struct sv_disk_config *d = &c->disks[i];
      free (d->file);
      free (d->base);
      free (d->format);
      free (d->bus);
      free (d->cache);
      free (d->media);
    }
  free (c->disks);
  for (size_t i = 0; i < c->n_shares; i++)
    {
      free (c->shares[i].source);
      free (c->shares[i].tag);
    }
  free (c->shares);
  free (c->network.ip_prefix);
  sv_strv_free_raw (c->network.interfaces);
  free (c->network.model);
  free (c->state_dir);
  free (c->data_dir);
  free (c->cloud_init.user_data);
  free (c->cloud_init.meta_data);
  free (c->cloud_init.network_config);
  free (c->qemu.binary);
  sv_strv_free_raw (c->qemu.extra_args);
  *c = (struct sv_vm_config){ 0 };
}

char *
sv_vm_config_warning (const struct sv_vm_config *c)
{
  uint64_t mib = c->memory_mib ? c->memory_mib : 512;
  if (c->firmware == SV_FIRMWARE_UEFI_SECURE && mib < SV_SECURE_MIN_MIB)
    return sv_xasprintf (
        "memory %" PRIu64 " MiB is below %d MiB: under firmware uefi-secure, "
        "Debian's signed shim and grub reset the VM in a loop there (measured: "
        "258 MiB loops, %d MiB boots with an 18 MB kernel and initrd; larger ones need more)",
        mib, SV_SECURE_MIN_MIB, SV_SECURE_MIN_MIB);
  return NULL;
}
