/* IDX and IDX.gz files: the MNIST-family image and label files. */
#include "dataset-private.h"
#include "environment-private.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <zlib.h>

#define IDX_IMAGES_MAGIC 0x00000803u
#define IDX_LABELS_MAGIC 0x00000801u
#define READ_CHUNK (1u << 20)

/* zlib reads plain files transparently, so one stream type serves both; only
 * a plain file's size is known ahead, which lets it be checked before allocating. */
typedef struct {
  const char *path;
  gzFile gz;
  gboolean compressed;
  guint64 file_size;
  guint64 header_len;
} IdxStream;

static gboolean
idx_stream_open (IdxStream *s, const char *path, GError **error)
{
  memset (s, 0, sizeof *s);
  s->path = path;
  int fd = g_open (path, O_RDONLY, 0);
  if (fd < 0) {
    drmad_dataset_set_open_error (error, path, errno);
    return FALSE;
  }
  struct stat st;
  guint8 magic[2] = { 0, 0 };
  if (fstat (fd, &st) != 0 || S_ISDIR (st.st_mode) || read (fd, magic, 2) < 0
      || lseek (fd, 0, SEEK_SET) != 0) {
    int saved = S_ISDIR (st.st_mode) ? EISDIR : errno;
    close (fd);
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_IO, "%s: cannot read: %s", path, g_strerror (saved));
    return FALSE;
  }
  s->file_size = st.st_size;
  s->compressed = magic[0] == 0x1f && magic[1] == 0x8b;
  s->gz = gzdopen (fd, "rb");
  if (s->gz == NULL) {
    close (fd);
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_OUT_OF_MEMORY, "%s: cannot start zlib", path);
    return FALSE;
  }
  gzbuffer (s->gz, 1 << 18);
  return TRUE;
}

static void
idx_stream_close (IdxStream *s)
{
  if (s->gz)
    gzclose (s->gz);
  s->gz = NULL;
}

/* Reads up to @len bytes; returns how many, or -1 with @error set when zlib
 * or the file system failed (a short count alone means the file ended). */
static gint64
idx_stream_read (IdxStream *s, guint8 *buf, guint64 len, GError **error)
{
  guint64 got = 0;
  while (got < len) {
    unsigned want = (unsigned) MIN (len - got, (guint64) READ_CHUNK);
    int r = gzread (s->gz, buf + got, want);
    if (r > 0) {
      got += r;
      continue;
    }
    int errnum = Z_OK;
    const char *msg = gzerror (s->gz, &errnum);
    if (errnum == Z_OK || errnum == Z_BUF_ERROR)
      break;   /* end of data; Z_BUF_ERROR is zlib's "unexpected end of file" */
    /* zlib prefixes its message with the name it was opened by, "<fd:3>"
     * after gzdopen(); the message names the file itself. */
    const char *after_name = strstr (msg, ">: ");
    if (g_str_has_prefix (msg, "<fd:") && after_name)
      msg = after_name + 3;
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_IO, "%s: cannot read: %s%s", s->path,
                 errnum == Z_DATA_ERROR ? "corrupt gzip data: " : "",
                 errnum == Z_ERRNO ? g_strerror (errno) : msg);
    return -1;
  }
  return got;
}

static guint32
read_be32 (const guint8 *p)
{
  return (guint32) p[0] << 24 | (guint32) p[1] << 16 | (guint32) p[2] << 8 | p[3];
}

/* The element type of an IDX magic number (0x0000TTDD), or NULL when
 * @magic is no IDX magic at all. */
static const char *
idx_type_name (guint32 magic)
{
  if (magic >> 16 != 0 || (magic & 0xff) == 0)
    return NULL;
  switch ((magic >> 8) & 0xff) {
  case 0x08: return "unsigned bytes";
  case 0x09: return "signed bytes";
  case 0x0B: return "16-bit integers";
  case 0x0C: return "32-bit integers";
  case 0x0D: return "32-bit floats";
  case 0x0E: return "64-bit floats";
  default: return NULL;
  }
}

static gboolean
idx_read_header (IdxStream *s, guint32 expected_magic, const char *kind,
                 guint32 *dims, GError **error)
{
  guint n_dims = expected_magic & 0xff;
  guint8 head[16];
  gsize head_len = 4 + 4 * n_dims;
  gint64 got = idx_stream_read (s, head, head_len, error);
  if (got < 0)
    return FALSE;
  if (got >= 4) {
    guint32 magic = read_be32 (head);
    const char *type = idx_type_name (magic);
    if (magic != expected_magic && type != NULL) {
      /* An IDX file, but not of bytes or not in the dimensions drmad reads. */
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_BAD_MAGIC,
                   "%s: is an IDX file of %s (type 0x%02x) in %u dimension%s (magic 0x%08x); drmad reads %s as IDX files "
                   "of unsigned bytes (type 0x08) in %u dimension%s%s (magic 0x%08x)",
                   s->path, type, (magic >> 8) & 0xff, magic & 0xff, (magic & 0xff) == 1 ? "" : "s", magic, kind,
                   n_dims, n_dims == 1 ? "" : "s", n_dims == 3 ? ", images × rows × columns" : ", one per image",
                   expected_magic);
      return FALSE;
    }
    if (magic != expected_magic) {
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_BAD_MAGIC,
                   "%s: not an IDX %s file: expected magic 0x%08x, found 0x%08x",
                   s->path, kind, expected_magic, magic);
      return FALSE;
    }
  }
  if ((gsize) got < head_len) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_TRUNCATED,
                 "%s: ends inside its %" G_GSIZE_FORMAT "-byte IDX header (%" G_GINT64_FORMAT " bytes)",
                 s->path, head_len, got);
    return FALSE;
  }
  for (guint i = 0; i < n_dims; i++)
    dims[i] = read_be32 (head + 4 + 4 * i);
  s->header_len = head_len;
  return TRUE;
}

/* The body of @count bytes. A plain file is measured before allocating; a
 * gzip one grows its buffer as data arrive, so a header that lies costs no
 * more memory than the data actually present. */
static guint8 *
idx_read_body (IdxStream *s, guint64 count, const char *what, GError **error)
{
  guint64 header_len = s->header_len;
  if (!s->compressed && s->file_size < header_len + count) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_TRUNCATED,
                 "%s: header promises %" G_GUINT64_FORMAT " bytes of %s but the file holds only %"
                 G_GUINT64_FORMAT " after its header", s->path, count, what,
                 s->file_size - MIN (s->file_size, header_len));
    return NULL;
  }
  guint64 capacity = s->compressed ? MIN (count, (guint64) 16 << 20) : count;
  guint8 *buf = drmad_dataset_try_alloc (capacity, what, error);
  if (buf == NULL)
    return NULL;
  guint64 have = 0;
  for (;;) {
    gint64 got = idx_stream_read (s, buf + have, capacity - have, error);
    if (got < 0) {
      g_free (buf);
      return NULL;
    }
    have += got;
    if (have < capacity || capacity == count)
      break;
    guint64 next = MIN (count, capacity * 2);
    guint8 *grown = g_try_realloc (buf, next);
    if (grown == NULL) {
      g_free (buf);
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_OUT_OF_MEMORY,
                   "%s: could not allocate %" G_GUINT64_FORMAT " bytes for %s", s->path, next, what);
      return NULL;
    }
    buf = grown;
    capacity = next;
  }
  /* One byte more makes zlib reach the gzip trailer and check its CRC; any
   * byte it gives, like a plain file longer than its header says, is data
   * past what the header counts: the count or the file is wrong. */
  guint8 extra;
  gint64 past = s->compressed && have == count ? idx_stream_read (s, &extra, 1, error) : 0;
  if (past < 0) {
    g_free (buf);
    return NULL;
  }
  if (!s->compressed && s->file_size > header_len + count)
    past = s->file_size - header_len - count;
  if (past > 0) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_CORRUPT,
                 "%s: holds %s%" G_GINT64_FORMAT " byte%s more than the %" G_GUINT64_FORMAT " bytes of %s its header "
                 "promises: the header's count or the file is wrong", s->path, s->compressed ? "at least " : "",
                 past, past == 1 ? "" : "s", count, what);
    g_free (buf);
    return NULL;
  }
  if (have < count) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_TRUNCATED,
                 "%s: ends after %" G_GUINT64_FORMAT " of the %" G_GUINT64_FORMAT " bytes of %s its header promises",
                 s->path, have, count, what);
    g_free (buf);
    return NULL;
  }
  return buf;
}

/* What memory the process may still have: MemAvailable from /proc/meminfo
 * (free memory and what the kernel can reclaim), else the free physical
 * pages, or the room under the process's cgroup memory limit where that is
 * lower (drmad_memory_room); lower still when its RLIMIT_AS or RLIMIT_DATA is.
 * G_MAXUINT64 when none of these is known. @what names the one that
 * applied: a new string. */
static guint64
memory_allowed (char **what)
{
  g_autofree char *room_what = NULL;
  guint64 allowed = drmad_memory_room (FALSE, &room_what);
  if (g_str_has_prefix (room_what, "MemAvailable"))
    *what = g_strconcat ("the memory available, ", room_what, NULL);
  else
    *what = g_strdup (room_what);
  static const struct { int resource; const char *what; } rlimits[] = {
    { RLIMIT_AS, "the process's RLIMIT_AS" },
    { RLIMIT_DATA, "the process's RLIMIT_DATA" },
  };
  for (guint k = 0; k < G_N_ELEMENTS (rlimits); k++) {
    struct rlimit rl;
    if (getrlimit (rlimits[k].resource, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
        && (guint64) rl.rlim_cur < allowed) {
      allowed = rl.rlim_cur;
      g_free (*what);
      *what = g_strdup (rlimits[k].what);
    }
  }
  return allowed;
}

/* A compressed file's size says nothing about how much it inflates to, so
 * what its header claims is held against the memory the process may have
 * before any of it is inflated. A plain file's claim is held against its
 * size instead (idx_read_body). */
static gboolean
idx_check_memory (const IdxStream *s, guint64 count, const char *what, guint64 allowed,
                  const char *allowed_what, GError **error)
{
  if (!s->compressed || count <= allowed)
    return TRUE;
  g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_TOO_LARGE,
               "%s: header claims %" G_GUINT64_FORMAT " bytes of %s, more than the limit of %"
               G_GUINT64_FORMAT " bytes (%s); refused before inflating", s->path, count, what,
               allowed, allowed_what);
  return FALSE;
}

DrmadDataset *
drmad_dataset_load_idx (const char *images_path, const char *labels_path,
                        const DrmadLoadLimits *limits, GError **error)
{
  DrmadLoadLimits lim = drmad_load_limits_resolve (limits);
  IdxStream images = { 0 }, labels = { 0 };
  guint32 image_dims[3], label_dims[1];
  guint8 *pixels = NULL, *label_bytes = NULL;
  gint32 *label_array = NULL;
  DrmadDataset *ds = NULL;

  if (!idx_stream_open (&images, images_path, error)
      || !idx_read_header (&images, IDX_IMAGES_MAGIC, "images", image_dims, error))
    goto out;
  guint64 n = image_dims[0], dim = (guint64) image_dims[1] * image_dims[2];
  if (!drmad_load_limits_check (&lim, images_path, n, dim, error))
    goto out;
  if (n == 0 || dim == 0) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_EMPTY,
                 "%s: holds %" G_GUINT64_FORMAT " images of %u × %u pixels (width × height)",
                 images_path, n, image_dims[2], image_dims[1]);   /* width first, as drmad_dataset_get_shape() */
    goto out;
  }
  if (!idx_stream_open (&labels, labels_path, error)
      || !idx_read_header (&labels, IDX_LABELS_MAGIC, "labels", label_dims, error))
    goto out;
  if (label_dims[0] != n) {   /* the files disagree: not a value the caller passed */
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_CORRUPT,
                 "%s holds %" G_GUINT64_FORMAT " images but %s holds %u labels",
                 images_path, n, labels_path, label_dims[0]);
    goto out;
  }
  if (images.compressed || labels.compressed) {
    g_autofree char *allowed_what = NULL;
    guint64 allowed = memory_allowed (&allowed_what);
    if (!idx_check_memory (&images, n * dim, "pixels", allowed, allowed_what, error)
        || !idx_check_memory (&labels, n, "labels", allowed, allowed_what, error))
      goto out;
  }
  /* The pixels stay bytes: drmad_dataset_split() converts the rows it draws. */
  if (!(label_bytes = idx_read_body (&labels, n, "labels", error))
      || !(pixels = idx_read_body (&images, n * dim, "pixels", error))
      || !(label_array = drmad_dataset_try_alloc (n * sizeof (gint32), "labels", error)))
    goto out;

  /* Labels are bytes, so n_classes ≤ 256 by construction. */
  guint n_classes = 2;
  for (guint64 i = 0; i < n; i++) {
    label_array[i] = label_bytes[i];
    n_classes = MAX (n_classes, (guint) label_bytes[i] + 1);
  }
  ds = drmad_dataset_wrap (n, dim, n_classes, image_dims[2], image_dims[1], 1,
                           NULL, pixels, label_array, g_strdup (images_path));
  pixels = NULL;
  label_array = NULL;

out:
  idx_stream_close (&images);
  idx_stream_close (&labels);
  g_free (pixels);
  g_free (label_bytes);
  g_free (label_array);
  return ds;
}
