#include "tls.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "cleanup.h"
#include "util.h"

static int
write_pem (const char *path, mode_t mode, EVP_PKEY *pkey, X509 *x509, sv_error_t *err)
{
  cleanup_close int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0)
    return sv_error_errno (err, SV_EXIT_ENV, errno, "creating %s", path);
  if (fchmod (fd, mode) < 0)
    return sv_error_errno (err, SV_EXIT_ENV, errno, "chmod %s", path);
  FILE *f = fdopen (fd, "w");
  if (f == NULL)
    return sv_error_errno (err, SV_EXIT_ENV, errno, "fdopen %s", path);
  fd = -1;
  int ok
      = pkey ? PEM_write_PrivateKey (f, pkey, NULL, NULL, 0, NULL, NULL) : PEM_write_X509 (f, x509);
  if (fclose (f) != 0 || !ok)
    return sv_error_make (err, SV_EXIT_ENV, SV_SRC_CONFIG, 0, "writing %s failed", path);
  return 0;
}

int
sv_mgr_tls_self_signed (const char *data_dir, char **cert, char **key, bool *made, sv_error_t *err)
{
  *made = false;
  if (mkdir (data_dir, 0700) < 0 && errno != EEXIST)
    return sv_error_errno (err, SV_EXIT_ENV, errno, "creating %s", data_dir);
  if (asprintf (cert, "%s/tls.crt", data_dir) < 0 || asprintf (key, "%s/tls.key", data_dir) < 0)
    abort ();
  struct stat a, b;
  if (stat (*cert, &a) == 0 && lstat (*key, &b) == 0 && S_ISREG (b.st_mode))
    {
      if (b.st_mode & 077)
        return sv_error_config (err, "%s: mode %03o lets others read it (want 0600)", *key,
                                (unsigned)(b.st_mode & 0777));
      return 0;
    }
  EVP_PKEY *pkey = EVP_EC_gen ("P-256");
  X509 *x = X509_new ();
  int r = -1;
  if (pkey == NULL || x == NULL)
    {
      sv_error_config (err, "generating the TLS key failed");
      goto out;
    }
  unsigned char serial[16];
  if (sv_mgr_random (serial, sizeof serial, err) < 0)
    goto out;
  serial[0] &= 0x7f;
  BIGNUM *bn = BN_bin2bn (serial, sizeof serial, NULL);
  BN_to_ASN1_INTEGER (bn, X509_get_serialNumber (x));
  BN_free (bn);
  X509_set_version (x, 2);
  X509_gmtime_adj (X509_getm_notBefore (x), -3600);
  X509_gmtime_adj (X509_getm_notAfter (x), 10L * 365 * 24 * 3600);
  X509_set_pubkey (x, pkey);
  X509_NAME *name = X509_get_subject_name (x);
  X509_NAME_add_entry_by_txt (name, "CN", MBSTRING_ASC, (const unsigned char *)"startvm-manager",
                              -1, -1, 0);
  X509_set_issuer_name (x, name);
  X509V3_CTX v3;
  X509V3_set_ctx_nodb (&v3);
  X509V3_set_ctx (&v3, x, x, NULL, NULL, 0);
  X509_EXTENSION *ext
      = X509V3_EXT_conf_nid (NULL, &v3, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1");
  if (ext)
    {
      X509_add_ext (x, ext, -1);
      X509_EXTENSION_free (ext);
    }
  if (!X509_sign (x, pkey, EVP_sha256 ()))
    {
      sv_error_config (err, "signing the TLS certificate failed");
      goto out;
    }
  if (write_pem (*key, 0600, pkey, NULL, err) < 0 || write_pem (*cert, 0644, NULL, x, err) < 0)
    goto out;
  *made = true;
  r = 0;
out:
  EVP_PKEY_free (pkey);
  X509_free (x);
  return r;
}
