#include "config.h"

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
