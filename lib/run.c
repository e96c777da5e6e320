/* The run folder: files a user keeps, each written atomically. */
#define _GNU_SOURCE   /* copy_file_range(); F_OFD_SETLK, F_OFD_GETLK (Linux 3.15) */
#include "drmad-run.h"
#include "device-private.h"
#include "environment-private.h"
#include "meta-private.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <glib/gstdio.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>   /* renameat2() */
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define CHECKPOINT_MAGIC "DRMADCK1"
/* 4: records hold ranks and the two spreads; 5: the start θ after them, when set; 6: each record its cells
 * (drmad_hyper_cells) and θ only where it is kept (DRMAD_RUN_THETA_KEPT_MAX), the header hyper.csv's
 * length and the CRC-32 of its last bytes; 7: version 6's layout, where a record may carry the flag
 * NORMS_MISSING (a version 6 reader took its stored 0 for the norms). A run writes 7 only where one of
 * its records carries it (checkpoint_payload), so that a drmad reading 3 to 6 refuses, naming the
 * versions, the files it would misread, and resumes the others. */
#define CHECKPOINT_VERSION 7
#define CHECKPOINT_VERSION_NORMS_KNOWN 6
#define CHECKPOINT_OLDEST_VERSION 3
#define LOCK_NAME ".drmad-lock"
/* In a --force run's staging folder until it takes the earlier run's place:
 * what remove_stale_staging() asks before it removes one. */
#define STAGING_MARK ".drmad-staging"

/* Every file a run folder of ours holds; nothing else is ever removed. */
static const char *const run_files[] = { "run.ini", "history.csv", "hyper.csv", "checkpoint.bin", "l2.png", "lr.png",
                                         "loss.png", LOCK_NAME, NULL };

struct _DrmadRun {
  char      *folder;        /* where the files are written now */
  char      *replaces;      /* --force on an earlier run: the folder this one replaces at its first record */
  int        lock_fd, replaced_lock_fd;
  char      *identity;      /* the settings and data the trajectory depends on (drmad_run_set_identity) */
  char      *ini;
  GPtrArray *records;   /* DrmadRunRecord */
  guint      n_groups;
  gsize      n;
  double    *start;         /* θ that meta-iteration 1 measured (drmad_run_set_start), n values, or NULL */
  /* hyper.csv as this process last wrote it, or as the checkpoint says it
   * was: the rows of the first hyper_records records, hyper_bytes long,
   * the last HYPER_TAIL bytes of them with the CRC-32 hyper_tail_crc (0
   * records: not known, written anew) */
  guint      hyper_records;
  guint64    hyper_bytes;
  guint32    hyper_tail_crc;
  /* drmad_run_restore found a hyper.csv that is not the one the checkpoint
   * counts, and no longer holds θ of every record to write it anew: the
   * next record moves it aside (hyper.csv.old-N) and begins hyper.csv
   * anew; hyper_notice says so (drmad_run_get_hyper_csv_notice) */
  gboolean   hyper_set_aside;
  char      *hyper_notice;
};

/* The bytes at the end of hyper.csv's known rows whose CRC-32 tells, at
 * each record and on resume, that the file on disk is the one this run
 * wrote: read back in a moment where a CRC of the whole file (gigabytes
 * with an L2 per weight) would take minutes. */
#define HYPER_TAIL ((guint64) 65536)

static void
record_free (DrmadRunRecord *record)
{
  g_free (record->group_norms);
  g_free (record->theta);
  g_free (record->l2_cells);
  g_free (record->lr_cells);
  g_free (record->momentum_cells);
  g_free (record->init_cells);
  g_free (record);
}

/* DRMAD_RUN_THETA_KEPT_MAX. Test hook (docs/reliability.md):
 * DRMAD_THETA_KEPT_MAX=N lowers it, so that the θ of a small net is one
 * that only the last record keeps. */
static gsize
theta_kept_max (void)
{
  gsize max = DRMAD_RUN_THETA_KEPT_MAX;
#ifdef DRMAD_TEST_HOOKS
  const char *spec = g_getenv ("DRMAD_THETA_KEPT_MAX");
  if (spec && g_ascii_isdigit (*spec))
    max = g_ascii_strtoull (spec, NULL, 10);
#endif
  return max;
}

/* The record's cells (DrmadRunRecord), in the order of the kinds. */
static double **
record_cells (DrmadRunRecord *r, DrmadGroupKind kind)
{
  return kind == DRMAD_GROUP_L2 ? &r->l2_cells : kind == DRMAD_GROUP_LR ? &r->lr_cells
         : kind == DRMAD_GROUP_MOMENTUM ? &r->momentum_cells : &r->init_cells;
}

static const DrmadGroupKind cell_kinds[4] = { DRMAD_GROUP_L2, DRMAD_GROUP_LR, DRMAD_GROUP_MOMENTUM, DRMAD_GROUP_INIT };

/* The cells of every kind, one after the other: what a record keeps of θ whatever its size. */
static gsize
n_cells (const DrmadHyper *hyper)
{
  gsize count = 0;
  for (guint k = 0; k < G_N_ELEMENTS (cell_kinds); k++)
    count += drmad_hyper_get_n_cells (hyper, cell_kinds[k]);
  return count;
}

/* Fills the record's cells from @theta, or from @stored (n_cells() values) when @theta is NULL. */
static void
record_set_cells (DrmadRunRecord *r, const DrmadHyper *hyper, const double *theta, const double *stored)
{
  for (guint k = 0; k < G_N_ELEMENTS (cell_kinds); k++) {
    guint count = drmad_hyper_get_n_cells (hyper, cell_kinds[k]);
    double **cells = record_cells (r, cell_kinds[k]);
    *cells = g_new (double, MAX (count, 1));
    if (theta)
      drmad_hyper_cells (hyper, theta, cell_kinds[k], *cells);
    else {
      memcpy (*cells, stored, count * sizeof (double));
      stored += count;
    }
  }
}

/* Whether record @index of @records keeps θ past this moment: every one
 * that has it while θ is small, else the last only. */
static gboolean
keeps_theta (const GPtrArray *records, guint index, gsize n)
{
  const DrmadRunRecord *r = records->pdata[index];
  return r->theta && (n <= theta_kept_max () || index + 1 == records->len);
}

static void
drop_theta_not_kept (GPtrArray *records, gsize n)
{
  for (guint i = 0; i < records->len; i++)
    if (!keeps_theta (records, i, n))
      g_clear_pointer (&((DrmadRunRecord *) records->pdata[i])->theta, g_free);
}

static void remove_run_folder (const char *folder);

void
drmad_run_free (DrmadRun *run)
{
  if (!run)
    return;
  if (run->replaces)   /* never got to its first record: the earlier run stays as it was */
    remove_run_folder (run->folder);
  if (run->lock_fd >= 0)
    close (run->lock_fd);
  if (run->replaced_lock_fd >= 0)
    close (run->replaced_lock_fd);
  g_free (run->replaces);
  g_free (run->identity);
  g_free (run->folder);
  g_free (run->ini);
  g_free (run->start);
  g_free (run->hyper_notice);
  g_ptr_array_unref (run->records);
  g_free (run);
}

static DrmadRun *
run_new (const char *folder, char *ini)
{
  DrmadRun *run = g_new0 (DrmadRun, 1);
  run->folder = g_strdup (folder);
  run->ini = ini;
  run->records = g_ptr_array_new_with_free_func ((GDestroyNotify) record_free);
  run->lock_fd = run->replaced_lock_fd = -1;
  return run;
}

static gboolean
set_errno_error (GError **error, int saved, const char *what, const char *path)
{
  gboolean full = saved == ENOSPC || saved == EDQUOT;
  /* EIO is the disk's failure, not the folder's or the user's: the front
   * end reports it as a failed run (status 1), as it does a full disk */
  g_set_error (error, DRMAD_ERROR, full ? DRMAD_ERROR_NO_SPACE : saved == EIO ? DRMAD_ERROR_DISK : DRMAD_ERROR_IO,
               "cannot %s %s: %s", what, path, g_strerror (saved));
  return FALSE;
}

/* The test hooks' DRMAD_INJECT_FAULT=NAME:VALUE (docs/reliability.md):
 * VALUE where the variable names @name, else NULL; always NULL in builds
 * without -Dtest_hooks, whose objects hold none of the hooks' names. */
#ifdef DRMAD_TEST_HOOKS
static const char *
injected (const char *name)
{
  const char *spec = g_getenv ("DRMAD_INJECT_FAULT");
  size_t length = strlen (name);
  return spec && strncmp (spec, name, length) == 0 && spec[length] == ':' ? spec + length + 1 : NULL;
}
#define INJECTED(name) injected (name)
#else
#define INJECTED(name) ((const char *) NULL)
#endif

/* Test hook (docs/reliability.md): DRMAD_INJECT_FAULT=nospace:N makes the
 * Nth file write of the process (1-based) and every later one fail as on a
 * full disk. */
static gboolean
inject_no_space (void)
{
  static gint writes;
  const char *nth = INJECTED ("nospace");
  return nth && g_atomic_int_add (&writes, 1) + 1 >= atoi (nth);
}

/* Test hook (docs/reliability.md): DRMAD_INJECT_FAULT=copyrange:E makes
 * every copy_file_range() fail with errno E (a number), or return 0 when E
 * is 0, as on file systems and in sandboxes without it. */
static ssize_t
copy_range (int in, int out, size_t length)
{
  const char *e = INJECTED ("copyrange");
  if (e) {
    errno = atoi (e);
    return errno ? -1 : 0;
  }
  return copy_file_range (in, NULL, out, NULL, length, 0);
}

/* The umask on the "Umask:" line of /proc/self/status (Linux 4.7 and
 * later): octal digits alone on the line after blanks; -1 where there is
 * no such line. */
static int
status_umask (void)
{
  g_autofree char *status = NULL;
  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    return -1;
  const char *at = strstr (status, "\nUmask:");
  if (!at)
    return -1;
  at += strlen ("\nUmask:");
  at += strspn (at, " \t");
  gsize digits = strspn (at, "01234567");
  if (digits == 0 || digits > 4 || (at[digits] != '\n' && at[digits] != '\0'))
    return -1;
  int mask = (int) strtol (at, NULL, 8);
  return mask <= 0777 ? mask : -1;
}

/* The process's umask as it is now, from /proc: a program may narrow it
 * after its first run folder, and the atomic writer's fchmod(), which no
 * umask masks, gave the next folder's files the first one's (0644 under
 * 077; /runfolder/umask-followed-when-changed). Not by umask(), which reads
 * it only by setting it: for that moment every other thread's new files
 * and folders got 022, the program's own or another job's run folder
 * beside this one (docs/architecture.md, "Threads"); only where /proc says
 * nothing, and then once. */
static mode_t
process_umask (void)
{
  int status = status_umask ();
  if (status >= 0)
    return (mode_t) status;
  static gsize once = 0;
  static mode_t mask;
  if (g_once_init_enter (&once)) {
    mask = umask (022);
    umask (mask);
    g_once_init_leave (&once, 1);
  }
  return mask;
}

/* @prefix followed by the six X's that g_mkstemp() and g_mkdtemp() replace
 * with random characters. */
static char *
random_name_template (const char *prefix)
{
  g_autofree char *xs = g_strnfill (6, 'X');
  return g_strconcat (prefix, xs, NULL);
}

/* A file written through a temporary name beside it, in pieces, then
 * flushed and renamed into place: whole or not at all. */
typedef struct {
  char *path, *template;
  int   fd;
} AtomicFile;

static gboolean
atomic_open (AtomicFile *file, const char *path, GError **error)
{
  g_autofree char *folder = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *prefix = g_strdup_printf ("%s/.%s.", folder, base);
  *file = (AtomicFile) { .fd = -1 };
  if (inject_no_space ())
    return set_errno_error (error, ENOSPC, "write", path);
  char *template = random_name_template (prefix);
  int fd = g_mkstemp (template);
  if (fd < 0) {
    int saved = errno;
    g_free (template);
    return set_errno_error (error, saved, "create a temporary file beside", path);
  }
  *file = (AtomicFile) { .path = g_strdup (path), .template = template, .fd = fd };
  return TRUE;
}

/* Gives the temporary file up (after a failed write, or instead of a commit). */
static void
atomic_abort (AtomicFile *file)
{
  if (file->fd >= 0) {
    close (file->fd);
    g_unlink (file->template);
  }
  g_clear_pointer (&file->path, g_free);
  g_clear_pointer (&file->template, g_free);
  file->fd = -1;
}

static gboolean
atomic_fail (AtomicFile *file, int saved, const char *what, GError **error)
{
  g_autofree char *path = g_strdup (file->path);
  atomic_abort (file);
  return set_errno_error (error, saved, what, path);
}

/* Writes @length bytes of @contents to @fd at its offset: 0, or the errno
 * of the write that failed (ENOSPC for one that wrote nothing). */
static int
write_all (int fd, const void *contents, gsize length)
{
  const char *p = contents;
  gsize left = length;
  while (left > 0) {
    ssize_t written = write (fd, p, left);
    if (written < 0 && errno == EINTR)
      continue;
    if (written <= 0)
      return written < 0 ? errno : ENOSPC;
    p += written;
    left -= written;
  }
  return 0;
}

static gboolean
atomic_write (AtomicFile *file, const void *contents, gsize length, GError **error)
{
  int saved = write_all (file->fd, contents, length);
  return saved == 0 || atomic_fail (file, saved, "write", error);
}

/* Appends the first @length bytes of the file @source (in the kernel, where
 * it can: nothing of it passes through this process's memory). */
static gboolean
atomic_copy_from (AtomicFile *file, const char *source, guint64 length, GError **error)
{
  int in = open (source, O_RDONLY | O_CLOEXEC);
  if (in < 0)
    return atomic_fail (file, errno, "read", error);
  guint64 left = length;
  gboolean in_kernel = TRUE;
  char buffer[65536];
  while (left > 0) {
    ssize_t n = -1;
    if (in_kernel) {
      n = copy_range (in, file->fd, MIN (left, (guint64) 1 << 30));
      if (n <= 0 && !(n < 0 && errno == EINTR)) {
        /* Whatever the kernel says, the copy goes on through a buffer from
         * where it stopped (NULL offsets: both files' own), which meets a
         * real failure (EIO, ENOSPC, a file now shorter) itself: EXDEV,
         * ENOSYS, EOPNOTSUPP, EINVAL where the file system or kernel has no
         * such copy, EPERM from a sandbox's seccomp filter (Docker, snap),
         * EIO from some CIFS mounts, and 0 before the end from file systems
         * that copy nothing rather than refuse. */
        in_kernel = FALSE;
        continue;
      }
    } else {
      n = read (in, buffer, MIN (left, sizeof buffer));
      if (n > 0 && !atomic_write (file, buffer, n, error)) {
        close (in);
        return FALSE;
      }
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      int saved = n < 0 ? errno : EIO;   /* 0: the file was shorter than it was written */
      close (in);
      return atomic_fail (file, saved, "copy the earlier rows of", error);
    }
    left -= n;
  }
  close (in);
  return TRUE;
}

/* Flushes @folder's entries (a rename in it) to the disk: 0, or the
 * errno of a failed fsync(). A folder that cannot be opened for reading
 * (mode -wx) or whose file system does not flush folders (EINVAL) counts
 * as flushed: the rename itself went through. Test hook
 * (docs/reliability.md): DRMAD_INJECT_FAULT=fsyncdir:E makes every such
 * fsync() fail with errno E, as a disk's I/O error would. */
static int
sync_folder (const char *folder)
{
  int dir = open (folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0)
    return 0;
  int saved = fsync (dir) == 0 ? 0 : errno;
  const char *e = INJECTED ("fsyncdir");
  if (e)
    saved = atoi (e);
  close (dir);
  return saved == EINVAL ? 0 : saved;
}

static gboolean
atomic_commit (AtomicFile *file, GError **error)
{
  /* Closed whatever fchmod() or fsync() say: a full disk may first show at
   * the fsync, and a descriptor was lost with each such write. */
  int saved = 0;
  if (fchmod (file->fd, 0666 & ~process_umask ()) != 0 || fsync (file->fd) != 0)
    saved = errno;
  if (close (file->fd) != 0 && saved == 0)
    saved = errno;
  file->fd = -1;   /* closed: from here a failure unlinks the temporary file itself */
  if (saved != 0) {
    g_unlink (file->template);
    return atomic_fail (file, saved, "flush", error);
  }
  if (g_rename (file->template, file->path) != 0) {
    saved = errno;
    g_unlink (file->template);
    return atomic_fail (file, saved, "replace", error);
  }
  /* The file is in place; until its folder is flushed a power loss may
   * still take the rename back. A failure there was passed over: the run
   * went on as if its record were safe. It is said, naming the file; what
   * the folder shows is the new file. */
  g_autofree char *folder = g_path_get_dirname (file->path);
  if ((saved = sync_folder (folder)) != 0) {
    g_autofree char *what = g_strdup_printf ("flush the folder %s after replacing", folder);
    return atomic_fail (file, saved, what, error);
  }
  atomic_abort (file);   /* fd is -1: frees the names only */
  return TRUE;
}

gboolean
drmad_write_file_atomic (const char *path, const void *contents, gsize length, GError **error)
{
  AtomicFile file;
  return atomic_open (&file, path, error) && atomic_write (&file, contents, length, error)
         && atomic_commit (&file, error);
}

static const char *
file_kind (mode_t mode)
{
  return S_ISFIFO (mode) ? "a FIFO" : S_ISDIR (mode) ? "a folder" : S_ISSOCK (mode) ? "a socket" : "a device";
}

gboolean
drmad_read_regular_file (const char *path, const char *what, char **contents, gsize *length, GError **error)
{
  /* stat() first: open() of a socket fails (ENXIO) before fstat() could
   * name it, and opening a tty or a watchdog device has effects of its own */
  GStatBuf seen;
  struct stat st;
  int fd = -1, saved = 0;
  if (g_stat (path, &seen) != 0)
    saved = errno;
  else if (!S_ISREG (seen.st_mode))
    st.st_mode = seen.st_mode;
  else if ((fd = g_open (path, O_RDONLY | O_CLOEXEC | O_NONBLOCK, 0)) < 0 || fstat (fd, &st) != 0)
    saved = errno;   /* fstat() too: the file can be replaced between the two */
  if (saved) {
    if (fd >= 0)
      close (fd);
    g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved), "cannot read the %s %s: %s", what, path,
                 g_strerror (saved));
    return FALSE;
  }
  if (!S_ISREG (st.st_mode)) {
    if (fd >= 0)
      close (fd);
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "cannot read the %s %s: it is %s, not a regular file",
                 what, path, file_kind (st.st_mode));
    return FALSE;
  }
  GString *text = g_string_new (NULL);
  char buffer[8192];
  for (;;) {
    ssize_t got = read (fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0) {
      saved = errno;
      close (fd);
      g_string_free (text, TRUE);
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved), "cannot read the %s %s: %s", what, path,
                   g_strerror (saved));
      return FALSE;
    }
    if (got == 0)
      break;
    g_string_append_len (text, buffer, got);
  }
  close (fd);
  *length = text->len;
  *contents = g_string_free (text, FALSE);
  return TRUE;
}

static gboolean
write_in_run (DrmadRun *run, const char *name, const GString *text, GError **error)
{
  if (run->lock_fd < 0) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                 "%s was opened read-only: it cannot be written", run->folder);
    return FALSE;
  }
  g_autofree char *path = g_build_filename (run->folder, name, NULL);
  return drmad_write_file_atomic (path, text->str, text->len, error);
}

/* Whether @name is one of ours: a run file, or the temporary file
 * drmad_write_file_atomic() writes it through (".NAME." and six random
 * characters). */
static gboolean
is_run_file (const char *name, gboolean *temporary)
{
  *temporary = FALSE;
  for (const char *const *f = run_files; *f; f++) {
    gsize length = strlen (*f);
    if (g_str_equal (name, *f))
      return TRUE;
    if (name[0] == '.' && strncmp (name + 1, *f, length) == 0 && name[1 + length] == '.'
        && strlen (name) == length + 8) {
      *temporary = TRUE;
      return TRUE;
    }
  }
  return FALSE;
}

/* Unlinks our files in @folder: only the temporaries a killed writer left
 * behind (call with the lock held), or every run file and temporary. */
static void
remove_own_files (const char *folder, gboolean temporaries_only)
{
  g_autoptr (GDir) dir = g_dir_open (folder, 0, NULL);
  const char *name;
  gboolean temporary;
  while (dir && (name = g_dir_read_name (dir)))
    if (is_run_file (name, &temporary) && (temporary || !temporaries_only)) {
      g_autofree char *path = g_build_filename (folder, name, NULL);
      g_unlink (path);
    }
}

/* Counts what @folder holds besides our lock file and temporary files. */
static guint
count_contents (const char *folder, gboolean *has_ini)
{
  g_autoptr (GDir) dir = g_dir_open (folder, 0, NULL);
  const char *name;
  guint count = 0;
  gboolean temporary;
  *has_ini = FALSE;
  while (dir && (name = g_dir_read_name (dir))) {
    if (g_str_equal (name, LOCK_NAME) || (is_run_file (name, &temporary) && temporary))
      continue;
    *has_ini |= g_str_equal (name, "run.ini");
    count++;
  }
  return count;
}

/* A run folder the whole --force replacement leaves behind, or a staging
 * folder that never got its first record: its files go, then the folder
 * (which stays when it holds anything else). */
static void
remove_run_folder (const char *folder)
{
  remove_own_files (folder, FALSE);
  g_autofree char *mark = g_build_filename (folder, STAGING_MARK, NULL);
  g_unlink (mark);
  g_rmdir (folder);
}

/* @folder, beside @replaced (FOLDER), after remove_run_folder(): where it
 * is still there, it holds files that are not drmad's (the earlier run's
 * folder had notes of the user's in it), which go under
 * FOLDER.drmad-old- and six random characters, as they did before --force
 * swapped the folders. Under the staging name FOLDER.drmad-new-…, which
 * README describes as a run killed before its first record, they looked
 * like the new run's leftovers. */
static void
keep_others_aside (const char *folder, const char *replaced)
{
  if (!g_file_test (folder, G_FILE_TEST_IS_DIR) || g_file_test (folder, G_FILE_TEST_IS_SYMLINK))
    return;
  g_autofree char *prefix = g_strdup_printf ("%s.drmad-old-", replaced);
  g_autofree char *old = random_name_template (prefix);
  if (!g_mkdtemp_full (old, 0700))
    return;
  if (g_rename (folder, old) != 0)   /* replaces the empty folder just made */
    g_rmdir (old);
}

/* The lock of a run folder: an open file description lock (fcntl
 * F_OFD_SETLK) over all of FOLDER/.drmad-lock. Like flock(), it belongs to
 * the open file, not to the process, so two opens in one process (the window
 * and its run) exclude each other, and it goes with the last descriptor; unlike
 * flock(), F_OFD_GETLK asks whether one is held without taking anything.
 * @command is F_OFD_SETLK (take it, or -1 with errno EAGAIN or EACCES when held)
 * or F_OFD_GETLK (*@type becomes F_UNLCK when it is free). */
static int
lock_whole_get (int fd, int command, short *type)
{
  struct flock lock = { .l_type = *type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0 };
  int result = fcntl (fd, command, &lock);
  *type = lock.l_type;
  return result;
}

static int
lock_whole (int fd, int command, short type)
{
  return lock_whole_get (fd, command, &type);
}

static gboolean
held_elsewhere (int saved)
{
  return saved == EAGAIN || saved == EACCES;
}

/* Removes the staging folders (FOLDER.drmad-new- and six random
 * characters) beside @folder that a --force run killed before its first
 * record left behind. Call with
 * @folder's lock held: the process that makes a staging folder holds it until
 * the staging folder takes @folder's place, so none of them is being made
 * now. Only a real folder of this user's with the STAGING_MARK and an
 * unlocked lock file goes: a run folder someone named so has no mark, a
 * staging folder some process still holds is locked, and
 * FOLDER.drmad-old-* folders, which may hold the only copy of an earlier
 * run, are never looked at. */
static void
remove_stale_staging (const char *folder)
{
  g_autofree char *parent = g_path_get_dirname (folder), *base = g_path_get_basename (folder);
  g_autofree char *prefix = g_strconcat (base, ".drmad-new-", NULL);
  g_autoptr (GDir) dir = g_dir_open (parent, 0, NULL);
  const char *name;
  while (dir && (name = g_dir_read_name (dir))) {
    if (!g_str_has_prefix (name, prefix) || strlen (name) != strlen (prefix) + 6)
      continue;
    g_autofree char *staging = g_build_filename (parent, name, NULL);
    g_autofree char *lock_path = g_build_filename (staging, LOCK_NAME, NULL);
    g_autofree char *mark = g_build_filename (staging, STAGING_MARK, NULL);
    GStatBuf st, mark_st;
    if (g_lstat (staging, &st) != 0 || !S_ISDIR (st.st_mode) || st.st_uid != geteuid ()
        || g_lstat (mark, &mark_st) != 0 || !S_ISREG (mark_st.st_mode))
      continue;
    int fd = open (lock_path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
      continue;
    if (lock_whole (fd, F_OFD_SETLK, F_WRLCK) == 0) {   /* its process is gone */
      remove_run_folder (staging);
      keep_others_aside (staging, folder);
    }
    close (fd);
  }
}

/* The lock on FOLDER/.drmad-lock for the life of the run, with our PID in it;
 * a second run of the same folder is refused with the holder's PID. */
static int
take_lock (const char *folder, GError **error)
{
  g_autofree char *path = g_build_filename (folder, LOCK_NAME, NULL);
  int fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0666 & ~process_umask ());
  if (fd < 0) {
    set_errno_error (error, errno, "create the lock file", path);
    return -1;
  }
  /* Only writers take it: someone looking (drmad_run_in_use) only asks, so a
   * refusal here is always a writer's (it was refused as "in use" when it met
   * a look that held a shared flock() a moment too long on a busy machine). */
  int locked = lock_whole (fd, F_OFD_SETLK, F_WRLCK), saved = locked != 0 ? errno : 0;
  if (locked != 0) {
    char holder[32] = "";
    ssize_t got = pread (fd, holder, sizeof holder - 1, 0);
    holder[MAX (got, 0)] = '\0';
    g_strstrip (holder);
    close (fd);
    if (held_elsewhere (saved))
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_BUSY,
                   "the run folder %s is in use by process %s: wait for it to finish, stop it, or use another folder",
                   folder, *holder ? holder : "(unknown)");
    else
      set_errno_error (error, saved, "lock", path);
    return -1;
  }
  char pid[32];
  int length = g_snprintf (pid, sizeof pid, "%d\n", (int) getpid ());
  if (ftruncate (fd, 0) != 0 || pwrite (fd, pid, length, 0) != length) {
    int saved = errno;
    close (fd);
    set_errno_error (error, saved, "write the lock file", path);
    return -1;
  }
  return fd;
}

static gboolean
write_ini (DrmadRun *run, const char *ini_text, GError **error)
{
  g_autofree char *ini_path = g_build_filename (run->folder, "run.ini", NULL);
  if (!drmad_write_file_atomic (ini_path, ini_text, strlen (ini_text), error))
    return FALSE;
  g_free (run->ini);
  run->ini = g_strdup (ini_text);
  return TRUE;
}

/* @folder without trailing separators: "R/" names the folder a link R
 * points to (lstat follows it), and its dirname would be R itself. */
static char *
without_trailing_separators (const char *folder)
{
  gsize length = strlen (folder);
  while (length > 1 && G_IS_DIR_SEPARATOR (folder[length - 1]))
    length--;
  return g_strndup (folder, length);
}

/* drmad_run_create()'s refusals, before anything is touched: *@has_ini
 * says whether @folder (no trailing separators) holds files with a run.ini. */
static gboolean
check_new_folder (const char *folder, gboolean force, gboolean *has_ini, GError **error)
{
  *has_ini = FALSE;
  if (*folder == '\0') {
    g_set_error_literal (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                         "the run folder's name is empty: give the folder to write the run in");
    return FALSE;
  }
  if (g_file_test (folder, G_FILE_TEST_EXISTS) && !g_file_test (folder, G_FILE_TEST_IS_DIR)) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_EXISTS, "%s exists and is not a folder", folder);
    return FALSE;
  }
  if (!g_file_test (folder, G_FILE_TEST_IS_DIR) || count_contents (folder, has_ini) == 0) {
    *has_ini = FALSE;   /* an empty folder is a new one */
    return TRUE;
  }
  if (!force && *has_ini) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_EXISTS,
                 "the output folder %s already holds files: choose another folder, resume that run%s", folder,
                 g_file_test (folder, G_FILE_TEST_IS_SYMLINK) ? "" : ", or overwrite it");
    return FALSE;
  }
  if (force && *has_ini && g_file_test (folder, G_FILE_TEST_IS_SYMLINK)) {
    /* The replacement renames folders: it would replace the link, not the
     * run it points to, and the earlier run could not be moved aside. */
    g_autofree char *target = g_file_read_link (folder, NULL);
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                 "the output folder %s is a symbolic link (to %s): replacing a run folder renames folders, "
                 "so give the folder itself", folder, target ? target : "?");
    return FALSE;
  }
  if (force && *has_ini) {
    /* The new run is made beside it, in FOLDER.drmad-new- and six random
     * characters, and the earlier one moved aside to FOLDER.drmad-old-…:
     * names 17 characters longer, which the file system must take. */
    g_autofree char *parent = g_path_get_dirname (folder), *base = g_path_get_basename (folder);
    long name_max = pathconf (parent, _PC_NAME_MAX);
    gsize longer = strlen (".drmad-new-") + 6;
    if (name_max > 0 && strlen (base) + longer > (gsize) name_max) {
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                   "the output folder's name (%" G_GSIZE_FORMAT " bytes) is too long to overwrite it: the new run "
                   "is made beside it under the name plus %" G_GSIZE_FORMAT " characters, and names in %s may have "
                   "%ld bytes at most; give a folder with a name of %" G_GSIZE_FORMAT " bytes or fewer",
                   strlen (base), longer, parent, name_max, (gsize) name_max - longer);
      return FALSE;
    }
  }
  if (!*has_ini) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_EXISTS,
                 "the output folder %s already holds files but no run.ini: it is not a run folder%s; choose another "
                 "folder", folder, force ? ", and overwriting could delete files of yours" : "");
    return FALSE;
  }
  return TRUE;
}

/* access(2) as the create is judged: by the effective user, group and
 * capabilities (AT_EACCESS). Plain access() asks for the real ones and drops
 * the capabilities of a user other than root: a service run as its own
 * user with CAP_DAC_OVERRIDE (systemd's AmbientCapabilities=), which may
 * make its run folder anywhere, was refused before the data load. */
static int
may (const char *path, int mode)
{
  return faccessat (AT_FDCWD, path, mode, AT_EACCESS);
}

/* The next name of a path being walked at @name, the folder separators
 * before it passed over: cut off with a '\0' at *@end, the character
 * there kept in *@kept (put back with *end = kept, and the walk goes on
 * from @end). */
static char *
cut_name (char *name, char **end, char *kept)
{
  while (G_IS_DIR_SEPARATOR (*name))
    name++;
  *end = name + strcspn (name, G_DIR_SEPARATOR_S);
  *kept = **end;
  **end = '\0';
  return name;
}

/* The first of @folder's names, walked as make_folders() walks them, that
 * is a symbolic link to nothing, to g_free; NULL where there is none. */
static char *
link_to_nothing_on (const char *folder)
{
  g_autofree char *path = g_strdup (folder);
  char *name = path;
  while (*name) {
    char *end, kept;
    name = cut_name (name, &end, &kept);
    GStatBuf st;
    if (*name && g_lstat (path, &st) == 0 && S_ISLNK (st.st_mode) && g_stat (path, &st) != 0 && errno == ENOENT)
      return g_strdup (path);
    *end = kept;
    name = end;
  }
  return NULL;
}

/* The error of a folder @folder that could not be made (@what, errno
 * @saved). A link to nothing on its way makes mkdir(2) say "No such file or
 * directory" (or "Not a directory" at its end) of a path whose names all
 * show in a listing: the link is named, with where it points. */
static gboolean
set_folder_error (GError **error, int saved, const char *what, const char *folder)
{
  g_autofree char *link = saved == ENOENT || saved == ENOTDIR ? link_to_nothing_on (folder) : NULL;
  if (!link)
    return set_errno_error (error, saved, what, folder);
  g_autofree char *target = g_file_read_link (link, NULL);
  g_autofree char *quoted = target ? drmad_error_excerpt (target, DRMAD_ERROR_EXCERPT_CHARS) : NULL;
  g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_IO, "cannot %s %s: %s: %s is a symbolic link to \"%s\", which does "
               "not exist", what, folder, g_strerror (saved), link, quoted ? quoted : "");
  return FALSE;
}

/* What drmad_run_create() would fail to make in @folder (no trailing
 * separators), with the error it would give, found without making anything:
 * the folder and its parents (g_mkdir_with_parents, from the nearest one
 * that exists), the lock file in it (take_lock), and with @replacing the
 * staging folder beside it. access(2) answers for the user as the file
 * system does (a mode, a read-only mount, an immutable folder), but root
 * passes a mode and some file systems refuse what it allows: those are
 * still found at the create, after the data load. */
static gboolean
check_can_make (const char *folder, gboolean replacing, GError **error)
{
  GStatBuf st;
  if (g_stat (folder, &st) != 0) {
    /* Its names walked from the start as make_folders() makes them: a
     * missing one would be made in the last folder there (which must let
     * it), and a ".." after it goes back to where it was made. Walking up
     * the path (its dirname) instead passed "new/../../ro/run" on "." where
     * "new" is made, and the create then made "new" and failed at "run". */
    int saved = errno == ENOENT ? 0 : errno;
    g_autofree char *path = g_strdup (folder);
    g_autofree char *nearest = g_strdup (g_path_is_absolute (folder) ? G_DIR_SEPARATOR_S : ".");
    guint missing = 0;   /* names after the last one that exists: folders the create makes */
    char *name = path;
    while (saved == 0 && *name) {
      char *end, kept;
      name = cut_name (name, &end, &kept);
      if (*name == '\0' || g_str_equal (name, "."))
        ;
      else if (missing > 0)
        missing = g_str_equal (name, "..") ? missing - 1 : missing + 1;
      else {
        /* from the last folder that exists: the names before may hold one
         * the create makes and leaves again with ".." */
        g_autofree char *next = g_build_filename (nearest, name, NULL);
        if (g_stat (next, &st) == 0) {
          if (!S_ISDIR (st.st_mode))
            saved = ENOTDIR;
          g_free (nearest);
          nearest = g_steal_pointer (&next);
        } else if (errno != ENOENT)
          saved = errno;
        else if (g_lstat (next, &st) == 0)
          /* a link to nothing: the create's mkdir(2) says EEXIST and
           * passes over it, then fails in it or at its end, after the
           * data load */
          saved = kept && end[1 + strspn (end + 1, G_DIR_SEPARATOR_S)] ? ENOENT : ENOTDIR;
        else if (may (nearest, W_OK | X_OK) != 0)
          saved = errno;
        else
          missing = 1;
      }
      *end = kept;
      name = end;
    }
    return saved == 0 || set_folder_error (error, saved, "create the output folder", folder);
  }
  g_autofree char *lock = g_build_filename (folder, LOCK_NAME, NULL);
  if (may (folder, W_OK | X_OK) != 0 || (g_stat (lock, &st) == 0 && may (lock, R_OK | W_OK) != 0))
    return set_errno_error (error, errno, "create the lock file", lock);
  g_autofree char *parent = g_path_get_dirname (folder);
  if (replacing && may (parent, W_OK | X_OK) != 0)
    return set_errno_error (error, errno, "create a folder beside", folder);
  return TRUE;
}

gboolean
drmad_run_check_new (const char *folder_given, gboolean force, GError **error)
{
  gboolean has_ini;
  g_autofree char *folder = without_trailing_separators (folder_given ? folder_given : "");
  return check_new_folder (folder, force, &has_ini, error) && check_can_make (folder, has_ini, error);
}

/* What drmad_run_create() put in a folder whose run could not start: its
 * lock file, and its run.ini, which a write that failed after its rename
 * (the folder's flush) left there. */
static void
remove_started_files (const char *folder)
{
  g_autofree char *lock = g_build_filename (folder, LOCK_NAME, NULL);
  g_autofree char *ini = g_build_filename (folder, "run.ini", NULL);
  g_unlink (ini);
  g_unlink (lock);
}

/* @made, folders made from the outermost: innermost first, each one that
 * still holds nothing. */
static void
remove_folders (GPtrArray *made)
{
  for (guint i = made->len; i-- > 0;)
    g_rmdir (made->pdata[i]);
}

/* The folders drmad_run_create() made (@made) for @folder, whose run could
 * not start: its files, then those folders, each of which stays when it
 * holds anything else. A folder that was there before is not among them:
 * "--out a/b/F" left a/ and a/b/ behind, empty, when only F was taken back. */
static void
remove_made_folders (const char *folder, GPtrArray *made)
{
  remove_started_files (folder);
  remove_folders (made);
}

/* Makes each folder of @folder that is missing, its names walked from the
 * start as g_mkdir_with_parents() walks them ("new/../x" makes new, then x
 * beside it), and flushes the folder each one was made in: its entry there
 * is not kept by its own flush, and a power loss could lose a folder and
 * what was flushed in it (docs/reliability.md). Appends each folder made
 * to @made; on failure removes them (those still empty) and says @what
 * failed for @folder. */
static gboolean
make_folders (const char *folder, int mode, GPtrArray *made, const char *what, GError **error)
{
  g_autofree char *path = g_strdup (folder);
  int saved = 0;
  /* ENOENT where the folder above was there a moment before: another
   * start that failed took back the folders it made (runs/ of two runs
   * started at once, one of which made it), and the walk goes again; a
   * link to nothing says ENOENT on each walk, and fails after the last */
  for (guint walks = 0; walks == 0 || (saved == ENOENT && walks < 16); walks++) {
    saved = 0;
    char *name = path;
    while (saved == 0 && *name) {
      char *end, kept;
      name = cut_name (name, &end, &kept);
      /* what exists is passed over: mkdir(2) in a folder that may not be
       * written may say EACCES for a name that is there */
      if (*name && !g_file_test (path, G_FILE_TEST_EXISTS)) {
        if (g_mkdir (path, mode) == 0)
          g_ptr_array_add (made, g_strdup (path));
        else if (errno != EEXIST)   /* EEXIST: made by another since */
          saved = errno;
      }
      *end = kept;
      name = end;
    }
  }
  /* a file (or a link to nothing) where the last folder goes was passed
   * over above, as if it were the folder: g_mkdir_with_parents() said
   * ENOTDIR there, and a caller wrote into it only to fail naming a file */
  if (saved == 0 && !g_file_test (folder, G_FILE_TEST_IS_DIR))
    saved = ENOTDIR;
  if (saved != 0) {
    remove_folders (made);
    return set_folder_error (error, saved, what, folder);
  }
  for (guint i = made->len; i-- > 0;) {
    const char *made_one = made->pdata[i];
    g_autofree char *parent = g_path_get_dirname (made_one);
    if ((saved = sync_folder (parent)) != 0) {
      g_autofree char *flush = g_strdup_printf ("flush the folder %s after creating", parent);
      set_errno_error (error, saved, flush, made_one);
      remove_folders (made);
      return FALSE;
    }
  }
  return TRUE;
}

gboolean
drmad_make_folders (const char *folder, int mode, GError **error)
{
  g_autoptr (GPtrArray) made = g_ptr_array_new_with_free_func (g_free);
  return make_folders (folder, mode, made, "create the folder", error);
}

DrmadRun *
drmad_run_create (const char *folder_given, const char *ini_text, gboolean force, GError **error)
{
  /* the folders made here, from the outermost: NULL where @folder was there */
  g_autoptr (GPtrArray) made = NULL;
  g_autofree char *folder = without_trailing_separators (folder_given ? folder_given : "");
  gboolean has_ini;
  if (!check_new_folder (folder, force, &has_ini, error))
    return NULL;
  g_autoptr (DrmadRun) run = run_new (folder, g_strdup (ini_text));
  if (has_ini) {
    /* Overwriting an earlier run: it stays whole until this one has written
     * its first meta-iteration in a folder beside it (drmad_run_record). */
    if ((run->replaced_lock_fd = take_lock (folder, error)) < 0)
      return NULL;
    remove_stale_staging (folder);
    g_autofree char *prefix = g_strdup_printf ("%s.drmad-new-", folder);
    g_autofree char *staging = random_name_template (prefix);
    if (!g_mkdtemp_full (staging, 0777 & ~process_umask ())) {
      set_errno_error (error, errno, "create a folder beside", folder);
      return NULL;
    }
    g_free (run->folder);
    run->folder = g_steal_pointer (&staging);
    run->replaces = g_strdup (folder);
  } else if (!g_file_test (folder, G_FILE_TEST_EXISTS)) {
    made = g_ptr_array_new_with_free_func (g_free);
    if (!make_folders (folder, 0777 & ~process_umask (), made, "create the output folder", error))
      return NULL;
  }
  GError *lock_error = NULL;   /* its own: @error may be NULL, and a busy lock leaves the folder */
  if ((run->lock_fd = take_lock (run->folder, &lock_error)) < 0) {
    if (made && !g_error_matches (lock_error, DRMAD_ERROR, DRMAD_ERROR_BUSY))
      remove_made_folders (run->folder, made);
    g_propagate_error (error, lock_error);
    return NULL;
  }
  remove_own_files (run->folder, TRUE);   /* what a killed writer left */
  if (run->replaces) {
    g_autofree char *mark = g_build_filename (run->folder, STAGING_MARK, NULL);
    int fd = open (mark, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666 & ~process_umask ());
    if (fd < 0) {   /* without it remove_stale_staging() would never remove the folder */
      int saved = errno;
      remove_run_folder (run->folder);
      set_errno_error (error, saved, "create a file in", run->folder);
      return NULL;
    }
    close (fd);
  } else
    remove_stale_staging (folder);
  if (!write_ini (run, ini_text, error)) {
    /* A full disk, or a failed flush after run.ini's rename: nothing of this
     * run is left behind. An empty folder that was there keeps being one:
     * left with run.ini, the same command was refused ("already holds
     * files") once the disk worked again. */
    if (made)
      remove_made_folders (run->folder, made);
    else if (!run->replaces)
      remove_started_files (run->folder);
    return NULL;
  }
  return g_steal_pointer (&run);
}

/* Test hook (docs/reliability.md): DRMAD_INJECT_FAULT=kill:replace ends
 * the process with SIGKILL in the middle of a --force run's replacement of
 * the earlier run, right after its first rename, as a kill or a power loss
 * may. */
static void
inject_kill (const char *point)
{
  const char *at = INJECTED ("kill");
  if (at && g_str_equal (at, point))
    kill (getpid (), SIGKILL);
}

/* Swaps the names of two folders in one step. Test hook
 * (docs/reliability.md): DRMAD_INJECT_FAULT=exchange:E makes it fail with
 * errno E, as on a file system without the swap (EINVAL: NFS, FUSE, CIFS),
 * where replace_earlier_run() falls back on two renames. */
static int
exchange_folders (const char *a, const char *b)
{
  const char *e = INJECTED ("exchange");
  if (e) {
    errno = atoi (e);
    return -1;
  }
  return renameat2 (AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE);
}

/* --force: the new run's folder takes the earlier run's place, whole: the
 * two folders swap names in one step (renameat2 RENAME_EXCHANGE), so that
 * FOLDER names one run or the other at every instant. Two renames left no
 * FOLDER at all between them: a run killed there (or a power loss before
 * the folder's entries reached the disk) left the earlier run under
 * FOLDER.drmad-old-…, the new one under FOLDER.drmad-new-…, and --resume
 * FOLDER said it was no run folder. The earlier run gets the staging mark
 * first, so that once swapped, a kill before its files go leaves a staging
 * folder that the next run of FOLDER removes (remove_stale_staging: its
 * lock, the earlier run's, is held by this process until then). The two
 * renames stay for file systems without the swap. */
static gboolean
replace_earlier_run (DrmadRun *run, GError **error)
{
  g_autofree char *old_mark = g_build_filename (run->replaces, STAGING_MARK, NULL);
  g_autofree char *new_mark = g_build_filename (run->folder, STAGING_MARK, NULL);
  g_autofree char *parent = g_path_get_dirname (run->replaces);
  int fd = open (old_mark, O_WRONLY | O_CREAT | O_CLOEXEC, 0666 & ~process_umask ());
  if (fd >= 0)
    close (fd);
  if (fd >= 0 && exchange_folders (run->folder, run->replaces) == 0) {
    inject_kill ("replace");
    /* the swap on the disk before the earlier run's files go; a failure
     * to flush is passed over here: the new run's own files were flushed
     * and reported at its record, and both names hold a whole run */
    (void) sync_folder (parent);
    g_unlink (old_mark);   /* the new run's mark, in FOLDER: a run folder now */
    remove_run_folder (run->folder);   /* the earlier run, under the staging name, its mark with it */
    keep_others_aside (run->folder, run->replaces);
  } else {
    if (fd >= 0)
      g_unlink (old_mark);
    g_autofree char *prefix = g_strdup_printf ("%s.drmad-old-", run->replaces);
    g_autofree char *old = random_name_template (prefix);
    if (!g_mkdtemp_full (old, 0700))
      return set_errno_error (error, errno, "create a folder beside", run->replaces);
    if (g_rename (run->replaces, old) != 0) {
      int saved = errno;
      g_rmdir (old);
      return set_errno_error (error, saved, "move aside the earlier run in", run->replaces);
    }
    inject_kill ("replace");
    g_unlink (new_mark);   /* a run folder now, whatever its name */
    if (g_rename (run->folder, run->replaces) != 0) {
      int saved = errno;
      g_rename (old, run->replaces);
      return set_errno_error (error, saved, "move the new run into", run->replaces);
    }
    (void) sync_folder (parent);
    remove_run_folder (old);
  }
  close (run->replaced_lock_fd);
  run->replaced_lock_fd = -1;
  g_free (run->folder);
  run->folder = g_steal_pointer (&run->replaces);
  return TRUE;
}

gboolean
drmad_run_has_checkpoint (const DrmadRun *run)
{
  g_autofree char *path = g_build_filename (run->folder, "checkpoint.bin", NULL);
  return g_file_test (path, G_FILE_TEST_IS_REGULAR);
}

static DrmadRun *
open_run (const char *folder, gboolean for_writing, GError **error)
{
  g_autofree char *ini_path = g_build_filename (folder, "run.ini", NULL);
  g_autofree char *ini = NULL;
  gsize length;
  GError *local = NULL;
  /* Never blocks: a FIFO in run.ini's place (or put there since the caller
   * looked) hung g_file_get_contents() in open() until a writer came. */
  if (!drmad_read_regular_file (ini_path, "settings file", &ini, &length, &local)) {
    gboolean missing = g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT);
    g_set_error (error, DRMAD_ERROR, missing ? DRMAD_ERROR_NOT_FOUND : DRMAD_ERROR_IO,
                 missing ? "%s is not a run folder: %s" : "cannot open the run %s: %s", folder, local->message);
    g_error_free (local);
    return NULL;
  }
  g_autoptr (DrmadRun) run = run_new (folder, g_steal_pointer (&ini));
  if (for_writing) {
    if ((run->lock_fd = take_lock (folder, error)) < 0)
      return NULL;
    remove_own_files (folder, TRUE);   /* what a killed writer left */
    remove_stale_staging (folder);
    /* A --force run killed right after its folder took the earlier run's
     * place (replace_earlier_run) left its staging mark: a run folder that
     * is resumed is no staging folder. */
    g_autofree char *mark = g_build_filename (folder, STAGING_MARK, NULL);
    g_unlink (mark);
  }
  /* Finished meta-iterations in history.csv but no readable checkpoint:
   * starting over would overwrite them, and a reader would show none of
   * them. One row is what a process killed while writing its first record
   * leaves (history.csv, hyper.csv, then the checkpoint), or one writing it
   * now: that run starts over, rewriting the row. */
  g_autofree char *history_path = g_build_filename (folder, "history.csv", NULL);
  g_autofree char *history = NULL;
  gsize history_length;
  guint rows = 0;
  if (drmad_read_regular_file (history_path, "file", &history, &history_length, NULL))
    for (const char *line = strchr (history, '\n'); line && line[1]; line = strchr (line + 1, '\n'))
      rows += g_ascii_isdigit (line[1]);
  if (rows > 1 && !drmad_run_has_checkpoint (run)) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_CORRUPT,
                 "%s records %u finished meta-iteration%s but %s/checkpoint.bin is missing or not a file: %s",
                 history_path, rows, rows == 1 ? "" : "s", folder,
                 for_writing ? "refusing to start the run over; put the checkpoint back, or start a new run in "
                               "another folder"
                             : "put the checkpoint back to see them");
    return NULL;
  }
  return g_steal_pointer (&run);
}

gboolean
drmad_run_in_use (const char *folder, char **holder)
{
  g_autofree char *path = g_build_filename (folder, LOCK_NAME, NULL);
  /* O_NONBLOCK: a FIFO in its place would block open() until a writer came */
  int fd = open (path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0)
    return FALSE;   /* never run, or not readable: no one we can see */
  struct stat st;
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode)) {
    close (fd);
    return FALSE;   /* no lock file a run made */
  }
  /* Asks, takes nothing: a writer starting in this instant is never refused
   * because of this look (take_lock). */
  short type = F_WRLCK;
  gboolean busy = lock_whole_get (fd, F_OFD_GETLK, &type) == 0 && type != F_UNLCK;
  if (busy && holder) {
    char pid[32] = "";
    ssize_t got = pread (fd, pid, sizeof pid - 1, 0);
    pid[MAX (got, 0)] = '\0';
    *holder = g_strdup (*g_strstrip (pid) ? pid : "(unknown)");
  }
  close (fd);
  return busy;
}

DrmadRun *
drmad_run_open (const char *folder, GError **error)
{
  return open_run (folder, TRUE, error);
}

DrmadRun *
drmad_run_open_read_only (const char *folder, GError **error)
{
  return open_run (folder, FALSE, error);
}

gboolean
drmad_run_update_ini (DrmadRun *run, const char *ini_text, GError **error)
{
  return g_strcmp0 (run->ini, ini_text) == 0 || write_ini (run, ini_text, error);
}

void
drmad_run_set_identity (DrmadRun *run, const char *identity)
{
  g_free (run->identity);
  run->identity = g_strdup (identity);
}

const char *drmad_run_get_folder (const DrmadRun *run) { return run->replaces ? run->replaces : run->folder; }
const char *drmad_run_get_ini (const DrmadRun *run) { return run->ini; }
guint drmad_run_get_n_records (const DrmadRun *run) { return run->records->len; }

const DrmadRunRecord *
drmad_run_get_record (const DrmadRun *run, guint index)
{
  g_return_val_if_fail (index < run->records->len, NULL);
  return run->records->pdata[index];
}

/* %.17g: every double in a CSV reads back exactly. */
static void
append_number (GString *text, double value)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];
  if (isfinite (value))  /* a value a rejected meta-iteration never had stays an empty cell: no NaN is saved */
    g_string_append (text, g_ascii_formatd (buffer, sizeof buffer, "%.17g", value));
}

static GString *
history_csv (DrmadRun *run, DrmadHyper *hyper)
{
  GString *text = g_string_new ("iteration,rejected,train_loss,val_loss,val_error,meta_learning_rate,seconds,"
                                "device_peak_bytes,host_peak_bytes");
  for (guint g = 0; g < run->n_groups; g++)
    g_string_append_printf (text, ",hypergradient_norm_%s", drmad_hyper_get_group_name (hyper, g));
  g_string_append (text, ",method_used,fidelity_reference,fidelity_cosine,fidelity_relative_error,"
                   "fidelity_sign_agreement,ranks,val_loss_spread,hypergradient_norm_spread,test_loss,test_error\n");
  guint64 T = drmad_hyper_get_config (hyper)->steps;
  for (guint i = 0; i < run->records->len; i++) {
    const DrmadRunRecord *r = run->records->pdata[i];
    g_string_append_printf (text, "%u,%d,", r->iteration, r->rejected);
    double values[] = { r->train_loss, r->val_loss, r->val_error, r->meta_learning_rate, r->seconds };
    for (guint k = 0; k < G_N_ELEMENTS (values); k++) {
      append_number (text, values[k]);
      g_string_append_c (text, ',');
    }
    g_string_append_printf (text, "%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT, r->device_peak_bytes,
                            r->host_peak_bytes);
    for (guint g = 0; g < run->n_groups; g++) {
      g_string_append_c (text, ',');
      append_number (text, r->group_norms[g]);
    }
    g_autofree char *method = drmad_reverse_config_describe (&r->method, T);
    g_autofree char *reference = r->fidelity_measured ? drmad_reverse_config_describe (&r->fidelity_reference, T)
                                                      : g_strdup ("");
    g_string_append_printf (text, ",%s,%s", method, reference);
    double fidelity[3] = { r->fidelity.cosine, r->fidelity.relative_error, r->fidelity.sign_agreement };
    for (guint k = 0; k < 3; k++) {
      g_string_append_c (text, ',');
      if (r->fidelity_measured)
        append_number (text, fidelity[k]);
    }
    g_string_append_c (text, ',');
    if (r->ranks)   /* 0: a record from an older checkpoint, which did not keep it */
      g_string_append_printf (text, "%u", r->ranks);
    double spreads[2] = { r->val_loss_spread, r->hypergradient_norm_spread };
    for (guint k = 0; k < 2; k++) {
      g_string_append_c (text, ',');
      append_number (text, spreads[k]);
    }
    g_string_append (text, ",,\n");
  }
  return text;
}

/* The CRC-32 of the HYPER_TAIL bytes (fewer in a shorter file) of @fd that
 * end at @end, into @crc; FALSE with errno where they cannot be read. */
static gboolean
tail_crc (int fd, guint64 end, guint32 *crc)
{
  guint64 tail = MIN (end, HYPER_TAIL), done = 0;
  g_autofree guint8 *buffer = g_malloc (MAX (tail, 1));
  while (done < tail) {
    ssize_t got = pread (fd, buffer + done, tail - done, end - tail + done);
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0) {
      if (got == 0)
        errno = EIO;   /* shorter than it was just written */
      return FALSE;
    }
    done += got;
  }
  *crc = crc32 (crc32 (0, NULL, 0), buffer, tail);
  return TRUE;
}

/* Whether hyper.csv at @path begins with the rows of the first
 * run->hyper_records records as they were written: at least hyper_bytes
 * long (a run killed after writing hyper.csv and before its checkpoint left
 * rows beyond), its last bytes before there of the CRC-32 kept. Where not,
 * @why (to g_free) says what the file is. */
static gboolean
hyper_csv_continues (const DrmadRun *run, const char *path, char **why)
{
  /* O_NONBLOCK: a FIFO in its place would block open() until a writer came */
  int fd = open (path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  struct stat st;
  guint32 crc = 0;
  if (fd < 0 || fstat (fd, &st) != 0) {
    *why = g_strdup_printf ("it cannot be read (%s)", g_strerror (errno));
    if (fd >= 0)
      close (fd);
    return FALSE;
  }
  if (!S_ISREG (st.st_mode))
    *why = g_strdup ("it is not a regular file");
  else if ((guint64) st.st_size < run->hyper_bytes)
    *why = g_strdup_printf ("it holds only %" G_GUINT64_FORMAT " bytes", (guint64) st.st_size);
  else if (!tail_crc (fd, run->hyper_bytes, &crc))
    *why = g_strdup_printf ("it cannot be read (%s)", g_strerror (errno));
  else if (crc != run->hyper_tail_crc)
    *why = g_strdup_printf ("its bytes there differ (CRC-32 %08x): it is another run's, or was changed", crc);
  close (fd);
  return S_ISREG (st.st_mode) && !*why;
}

static gboolean
records_hold_theta (const GPtrArray *records)
{
  for (guint i = 0; i < records->len; i++)
    if (!((const DrmadRunRecord *) records->pdata[i])->theta)
      return FALSE;
  return TRUE;
}

/* Why θ of every record is not there to write hyper.csv anew, to g_free:
 * past the limit only the last record keeps it; at or below it, a
 * checkpoint written under a lower limit kept no more. */
static char *
theta_not_kept_reason (gsize n)
{
  if (n > theta_kept_max ())
    return g_strdup_printf ("with %" G_GSIZE_FORMAT " hyperparameters (more than %" G_GSIZE_FORMAT ") only the last "
                            "meta-iteration's θ is kept", n, theta_kept_max ());
  return g_strdup_printf ("its checkpoint keeps θ of the last meta-iteration only (written by a drmad whose limit for "
                          "keeping every meta-iteration's θ was below these %" G_GSIZE_FORMAT " hyperparameters)", n);
}

static gboolean
hyper_csv_refused (const DrmadRun *run, const char *path, const char *why, GError **error)
{
  g_autofree char *reason = theta_not_kept_reason (run->n);
  g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_CORRUPT,
               "%s is not the one this run wrote: its checkpoint expects the rows of %u meta-iteration%s there, "
               "%" G_GUINT64_FORMAT " bytes whose last %" G_GUINT64_FORMAT " have CRC-32 %08x, and %s; %s, so it "
               "cannot be written anew: put this run's hyper.csv back, or run it again in another folder",
               path,
               run->hyper_records, run->hyper_records == 1 ? "" : "s", run->hyper_bytes,
               MIN (run->hyper_bytes, HYPER_TAIL), run->hyper_tail_crc, why, reason);
  return FALSE;
}

/* The most names hyper.csv.old-N tried: past them the folder is full of
 * kept files, not worth a search without end. */
#define ASIDE_NAMES_MAX 10000

/* Test hook (docs/reliability.md): DRMAD_INJECT_FAULT=aside:E makes every
 * look at a name hyper.csv.old-N fail with errno E (a number), as where the
 * folder cannot be searched or the name is too long. */
static int
aside_lstat (const char *path, GStatBuf *st)
{
  const char *e = INJECTED ("aside");
  if (e) {
    errno = atoi (e);
    return -1;
  }
  return g_lstat (path, st);
}

/* The first name hyper.csv.old-N beside @path that nothing holds, to
 * g_free; NULL with @error where a name cannot be looked at (any error but
 * "no such file": it spun for good on one) or the first ASIDE_NAMES_MAX
 * are all taken. */
static char *
aside_name (const char *path, GError **error)
{
  for (guint i = 1; i <= ASIDE_NAMES_MAX; i++) {
    g_autofree char *aside = g_strdup_printf ("%s.old-%u", path, i);
    GStatBuf st;
    if (aside_lstat (aside, &st) == 0)
      continue;
    if (errno == ENOENT)
      return g_steal_pointer (&aside);
    int saved = errno;
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_IO, "cannot keep %s aside: cannot look at %s: %s; check that "
                 "its folder can be searched, or move %s out of it (a new one then begins)", path, aside,
                 g_strerror (saved), path);
    return NULL;
  }
  g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_IO, "cannot keep %s aside: %s.old-1 to %s.old-%d are all taken; "
               "move or delete some of them", path, path, path, ASIDE_NAMES_MAX);
  return NULL;
}

/* The first of @records from which on every record holds θ: where a
 * hyper.csv begun anew starts. */
static guint
first_with_theta (const GPtrArray *records)
{
  guint first = records->len;
  while (first > 0 && ((const DrmadRunRecord *) records->pdata[first - 1])->theta)
    first--;
  return first;
}

/* The rows of @records from @first on (after the header line where
 * @header), formatted in pieces of about 1 MiB and written to @fd at its
 * offset; @bytes gets their length. 0, or the errno of the write that
 * failed. */
static int
write_hyper_rows (const DrmadRun *run, const GPtrArray *records, guint first, DrmadHyper *hyper, gboolean header,
                  int fd, guint64 *bytes)
{
  g_autoptr (GString) text = g_string_new (header ? "iteration,name,raw,value\n" : "");
  *bytes = 0;
  for (guint i = first; i < records->len; i++) {
    const DrmadRunRecord *r = records->pdata[i];
    for (gsize k = 0; k < run->n; k++) {
      g_string_append_printf (text, "%u,%s,", r->iteration, drmad_hyper_get_name (hyper, k));
      append_number (text, r->theta[k]);
      g_string_append_c (text, ',');
      append_number (text, drmad_hyper_natural_of (hyper, k, r->theta[k]));
      g_string_append_c (text, '\n');
      if (text->len >= (1 << 20)) {
        int saved = write_all (fd, text->str, text->len);
        if (saved)
          return saved;
        *bytes += text->len;
        g_string_truncate (text, 0);
      }
    }
  }
  int saved = write_all (fd, text->str, text->len);
  *bytes += saved ? 0 : text->len;
  return saved;
}

/* Appends the rows of @records from run->hyper_records on to hyper.csv at
 * @path, in place after the run->hyper_bytes bytes the run counts there
 * (what lies beyond, rows of a run killed before its checkpoint or of a
 * failed earlier try, is cut first), and flushes them. Rewriting the file
 * through a temporary copied every earlier meta-iteration's rows each
 * time: 4.9 GB written over 300 meta-iterations for a hyper.csv of 33 MB,
 * growing with the square of the meta-iterations (docs/benchmarks.md). The
 * bytes counted are never written again, so a kill at any moment leaves
 * them whole, followed by some of the new rows (write_hyper_rows writes
 * them in pieces of 1 MiB: whole rows of part of θ, then a piece of a
 * row), which drmad_run_restore cuts and the readers (drmad_hyper_csv_rows)
 * leave out.
 * Only a regular file of one name whose counted bytes are the run's, as
 * cut_hyper_csv() asks, and whose mode the run may set: -1, nothing
 * touched, for any other (a link to a file outside the folder is then
 * replaced by a rewrite of the run's own);
 * 1 where appended; 0 with @error where a write failed, the file cut back
 * to the bytes counted. */
static int
append_hyper_csv (DrmadRun *run, const char *path, const GPtrArray *records, DrmadHyper *hyper, GError **error)
{
  int fd = open (path, O_RDWR | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
  struct stat st;
  guint32 crc = 0;
  /* One file-mode policy (README): every file of the run folder is 0666
   * minus the umask of the moment it is written, as the rewrite gave
   * hyper.csv at each record; appended, it kept its first record's mode (a
   * run resumed under 077 had every file 0600 but hyper.csv, 0644). One
   * whose mode cannot be set (another user's) is rewritten: a file of the
   * run's own. */
  mode_t mode = 0666 & ~process_umask ();
  if (fd < 0 || fstat (fd, &st) != 0 || !S_ISREG (st.st_mode) || st.st_nlink != 1
      || (guint64) st.st_size < run->hyper_bytes || !tail_crc (fd, run->hyper_bytes, &crc)
      || crc != run->hyper_tail_crc || ((st.st_mode & 07777) != mode && fchmod (fd, mode) != 0)) {
    if (fd >= 0)
      close (fd);
    return -1;
  }
  guint64 bytes = 0;
  const char *what = "write";
  int saved = inject_no_space () ? ENOSPC : 0;
  if (!saved && (ftruncate (fd, run->hyper_bytes) != 0 || lseek (fd, run->hyper_bytes, SEEK_SET) < 0))
    saved = errno;
  if (!saved)
    saved = write_hyper_rows (run, records, run->hyper_records, hyper, FALSE, fd, &bytes);
  if (!saved && fdatasync (fd) != 0) {
    saved = errno;
    what = "flush";
  }
  if (!saved && !tail_crc (fd, run->hyper_bytes + bytes, &crc)) {
    saved = errno;
    what = "read back";
  }
  if (saved)
    (void) ftruncate (fd, run->hyper_bytes);   /* no piece of a row left after the counted bytes */
  if (close (fd) != 0 && !saved) {
    saved = errno;
    what = "flush";
  }
  if (saved)
    return set_errno_error (error, saved, what, path);
  run->hyper_records = records->len;
  run->hyper_bytes += bytes;
  run->hyper_tail_crc = crc;
  return 1;
}

/* hyper.csv: the rows of every record of @records. Where the file holds
 * the rows of the records written there before (this process's, or those
 * the checkpoint counts), the new ones are appended in place
 * (append_hyper_csv); otherwise it is written anew through a temporary
 * file, the earlier rows copied over from it where they are known to be
 * there, not formatted again: with a θ of millions (L2 per weight)
 * formatting every record's rows each time took seconds more per
 * meta-iteration as the run went on, held the whole text in memory, and
 * needs every record's θ, which past DRMAD_RUN_THETA_KEPT_MAX only the last
 * keeps. On failure the earlier rows and what the run knows of them stay
 * as they were. */
static gboolean
write_hyper_csv (DrmadRun *run, const GPtrArray *records, DrmadHyper *hyper, GError **error)
{
  g_autofree char *path = g_build_filename (run->folder, "hyper.csv", NULL);
  g_autofree char *why = NULL;
  guint first = 0;
  gboolean continued = FALSE;
  if (run->hyper_set_aside) {
    /* drmad_run_restore's notice said so: the file there stays, renamed */
    first = first_with_theta (records);
    /* a hyper.csv deleted since (README: it may be, once read) leaves
     * nothing to keep, and no name to look for */
    GStatBuf st;
    if (g_lstat (path, &st) == 0) {
      g_autofree char *aside = aside_name (path, error);
      if (!aside)
        return FALSE;
      if (rename (path, aside) != 0 && errno != ENOENT) {
        set_errno_error (error, errno, "move aside", path);
        return FALSE;
      }
    }
  } else if (run->hyper_records && run->hyper_records < records->len) {
    if (hyper_csv_continues (run, path, &why)) {
      first = run->hyper_records;
      continued = TRUE;
    } else if (!records_hold_theta (records))
      return hyper_csv_refused (run, path, why, error);
  }
  for (guint i = first; i < records->len; i++)
    if (!((const DrmadRunRecord *) records->pdata[i])->theta) {   /* rows not known to be there, θ let go */
      g_autofree char *reason = theta_not_kept_reason (run->n);
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_CORRUPT,
                   "cannot write %s: its rows of meta-iteration %u are not known to be there, and %s", path,
                   ((const DrmadRunRecord *) records->pdata[i])->iteration, reason);
      return FALSE;
    }
  int appended = continued ? append_hyper_csv (run, path, records, hyper, error) : -1;
  if (appended >= 0)
    return appended;
  AtomicFile file;
  if (!atomic_open (&file, path, error)
      || (continued && !atomic_copy_from (&file, path, run->hyper_bytes, error)))
    return FALSE;
  guint64 bytes;
  int saved = write_hyper_rows (run, records, first, hyper, !continued, file.fd, &bytes);
  if (saved)
    return atomic_fail (&file, saved, "write", error);
  bytes += continued ? run->hyper_bytes : 0;
  guint32 crc;
  if (!tail_crc (file.fd, bytes, &crc))
    return atomic_fail (&file, errno, "read back", error);
  if (!atomic_commit (&file, error))
    return FALSE;
  run->hyper_records = records->len;
  run->hyper_bytes = bytes;
  run->hyper_tail_crc = crc;
  run->hyper_set_aside = FALSE;
  return TRUE;
}

guint64
drmad_run_hyper_csv_bytes_per_iteration (const DrmadHyper *hyper)
{
  guint64 bytes = 0;
  /* "ITERATION,NAME,RAW,VALUE\n": two digits of iteration, then %.17g of
   * a logarithm (about 19 characters) and of a small natural value (about
   * 22, "9.9999999999999991e-05") */
  for (gsize k = 0; k < drmad_hyper_get_n (hyper); k++)
    bytes += 2 + strlen (drmad_hyper_get_name (hyper, k)) + 19 + 22 + 4;
  return bytes;
}

/* Checkpoint payload: a header of PAYLOAD_HEADER integers (the state's
 * length, the records, n, the groups, the identity's length; version 6 also
 * the record's cells, hyper.csv's length and the CRC-32 of its last
 * HYPER_TAIL bytes), the optimiser state, the identity, then the history;
 * each record RECORD_COUNTS integers, RECORD_VALUES values, 3 fidelity
 * numbers, the group norms, the cells (drmad_hyper_cells of every kind),
 * θ where the record keeps it (count 14 says so); then the start θ, when
 * set. Flag bit RECORD_VALUES + 1 of count 1: the group norms are not
 * finite (a pass that diverged gave none), stored as 0 and read back NaN
 * (version 7; a version 6 written between the numerics review,
 * docs/reliability.md, and version 7 has it too, no other version 6).
 * Version 3: one count and two values fewer (the ranks and the spreads);
 * versions 3 to 5: 5 header integers, 14 counts, no cells, θ in every
 * record. */
#define RECORD_COUNTS 15
#define RECORD_VALUES 7
#define NORMS_MISSING ((guint64) 2 << RECORD_VALUES)
#define PAYLOAD_HEADER 8
typedef struct {
  guint8 *data;
  gsize length;
} Payload;

static void
payload_append (Payload *payload, const void *data, gsize length)
{
  memcpy (payload->data + payload->length, data, length);
  payload->length += length;
}

/* Built in one buffer of its final size: a GByteArray holds at most
 * G_MAXUINT bytes (GLib aborts the process past 4 GiB), and the payload
 * may hold θ of every record (300 meta-iterations of 1.8 M hyperparameters
 * were 4.3 GB before version 6 kept θ of the last record only). */
static GBytes *
checkpoint_payload (DrmadRun *run, DrmadHyper *hyper, DrmadMeta *meta, const char *path, guint32 *version,
                    GError **error)
{
  *version = CHECKPOINT_VERSION_NORMS_KNOWN;
  g_autoptr (GBytes) state = drmad_meta_save_state (meta);
  const char *identity = run->identity ? run->identity : "";
  gsize cells = n_cells (hyper);
  guint64 header[PAYLOAD_HEADER] = { g_bytes_get_size (state), run->records->len, run->n, run->n_groups,
                                     strlen (identity), cells, run->hyper_bytes, run->hyper_tail_crc };
  gsize record_size = (RECORD_COUNTS + RECORD_VALUES + 3 + run->n_groups + cells) * sizeof (double);
  gsize size = sizeof header + header[0] + header[4] + run->records->len * record_size
               + (run->start ? run->n * sizeof (double) : 0);
  for (guint i = 0; i < run->records->len; i++)
    size += keeps_theta (run->records, i, run->n) ? run->n * sizeof (double) : 0;
  Payload bytes = { g_try_malloc (MAX (size, 1)), 0 };
  if (!bytes.data) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_OUT_OF_MEMORY, "cannot write %s: no memory for its %" G_GSIZE_FORMAT
                 " bytes", path, size);
    return NULL;
  }
  payload_append (&bytes, header, sizeof header);
  payload_append (&bytes, g_bytes_get_data (state, NULL), g_bytes_get_size (state));
  payload_append (&bytes, identity, header[4]);
  for (guint i = 0; i < run->records->len; i++) {
    const DrmadRunRecord *r = run->records->pdata[i];
    double values[RECORD_VALUES] = { r->train_loss, r->val_loss, r->val_error, r->seconds, r->meta_learning_rate,
                                     r->val_loss_spread, r->hypergradient_norm_spread };
    /* bit 0: rejected; bit k + 1: values[k] missing (stored as 0: no NaN in a checkpoint) */
    guint64 flags = r->rejected;
    for (guint k = 0; k < G_N_ELEMENTS (values); k++)
      if (!isfinite (values[k])) {
        flags |= (guint64) 2 << k;
        values[k] = 0;
      }
    g_autofree double *norms = g_memdup2 (r->group_norms, MAX (run->n_groups, 1) * sizeof (double));
    for (guint g = 0; g < run->n_groups; g++)
      if (!isfinite (norms[g]))
        flags |= NORMS_MISSING;
    for (guint g = 0; g < run->n_groups && (flags & NORMS_MISSING); g++)
      norms[g] = 0;
    if (flags & NORMS_MISSING)
      *version = CHECKPOINT_VERSION;
    guint64 counts[RECORD_COUNTS] = {
      r->iteration, flags, r->device_peak_bytes, r->host_peak_bytes, r->fidelity_measured,
      r->method.method, r->method.checkpoint_every, r->method.snapshots, r->method.reverse_steps,
      r->fidelity_reference.method, r->fidelity_reference.checkpoint_every, r->fidelity_reference.snapshots,
      r->fidelity_reference.reverse_steps, r->ranks, keeps_theta (run->records, i, run->n),
    };
    double fidelity[3] = { r->fidelity.cosine, r->fidelity.relative_error, r->fidelity.sign_agreement };
    for (guint k = 0; k < 3; k++)
      if (!isfinite (fidelity[k]))
        fidelity[k] = G_MAXDOUBLE;  /* a relative error of Inf (a zero reference): no Inf in a checkpoint */
    payload_append (&bytes, counts, sizeof counts);
    payload_append (&bytes, values, sizeof values);
    payload_append (&bytes, fidelity, sizeof fidelity);
    payload_append (&bytes, norms, run->n_groups * sizeof (double));
    for (guint k = 0; k < G_N_ELEMENTS (cell_kinds); k++)
      payload_append (&bytes, *record_cells ((DrmadRunRecord *) r, cell_kinds[k]),
                      drmad_hyper_get_n_cells (hyper, cell_kinds[k]) * sizeof (double));
    if (counts[14])
      payload_append (&bytes, r->theta, run->n * sizeof (double));
  }
  if (run->start)   /* told apart by the payload's size */
    payload_append (&bytes, run->start, run->n * sizeof (double));
  return g_bytes_new_take (bytes.data, bytes.length);
}

static gboolean checkpoint_write (const char *path, GBytes *payload, guint32 version, GError **error);

gboolean
drmad_run_record (DrmadRun *run, DrmadHyper *hyper, DrmadMeta *meta, const DrmadMetaReport *report,
                  GError **error)
{
  if (drmad_meta_get_hyper (meta) != hyper || report->iteration != drmad_meta_get_iteration (meta)
      || report->n_groups != drmad_hyper_get_n_groups (hyper)) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                 "the hyperparameters or the report given are not those of the optimiser (its θ, its iteration %u "
                 "and %u groups; the report's iteration %u and %u groups)", drmad_meta_get_iteration (meta),
                 drmad_hyper_get_n_groups (hyper), report->iteration, report->n_groups);
    return FALSE;
  }
  if (run->lock_fd < 0) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                 "%s was opened read-only: it cannot be written", run->folder);
    return FALSE;
  }
  /* The records already held (and the start θ) are of this θ, and come before this one. */
  const DrmadRunRecord *last = run->records->len ? g_ptr_array_index (run->records, run->records->len - 1) : NULL;
  if ((last || run->start) && (run->n != drmad_hyper_get_n (hyper) || run->n_groups != drmad_hyper_get_n_groups (hyper)
                               || (last && report->iteration <= last->iteration))) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                 "%s holds meta-iterations up to %u of %" G_GSIZE_FORMAT " hyperparameters in %u groups: "
                 "meta-iteration %u of %" G_GSIZE_FORMAT " in %u groups cannot follow them", run->folder,
                 last ? last->iteration : 0, run->n, run->n_groups, report->iteration, drmad_hyper_get_n (hyper),
                 drmad_hyper_get_n_groups (hyper));
    return FALSE;
  }
  run->n = drmad_hyper_get_n (hyper);
  run->n_groups = drmad_hyper_get_n_groups (hyper);
  DrmadRunRecord *r = g_new0 (DrmadRunRecord, 1);
  r->iteration = report->iteration;
  r->rejected = report->rejected;
  r->train_loss = report->train_loss;
  r->val_loss = report->val_loss;
  r->val_error = report->val_error;
  r->seconds = report->seconds;
  r->meta_learning_rate = report->meta_learning_rate;
  r->device_peak_bytes = report->device_peak_bytes;
  r->host_peak_bytes = report->host_peak_bytes;
  r->group_norms = g_memdup2 (report->group_norms, MAX (run->n_groups, 1) * sizeof (double));
  r->theta = g_memdup2 (drmad_hyper_get_values (hyper), MAX (run->n, 1) * sizeof (double));
  record_set_cells (r, hyper, r->theta, NULL);
  r->method = report->method;
  r->fidelity_measured = report->fidelity_measured;
  r->fidelity_reference = report->fidelity_reference;
  r->fidelity = report->fidelity;
  r->ranks = report->ranks;
  r->val_loss_spread = report->val_loss_spread;
  r->hypergradient_norm_spread = report->hypergradient_norm_spread;
  g_ptr_array_add (run->records, r);

  g_autoptr (GString) history = history_csv (run, hyper);
  g_autofree char *checkpoint = g_build_filename (run->folder, "checkpoint.bin", NULL);
  g_autoptr (GBytes) payload = NULL;
  guint32 version;
  guint hyper_records = run->hyper_records;
  guint64 hyper_bytes = run->hyper_bytes;
  guint32 hyper_tail_crc = run->hyper_tail_crc;
  gboolean hyper_set_aside = run->hyper_set_aside;
  /* The checkpoint goes last: a run killed in between resumes from the
   * previous one and rewrites these files. */
  if (write_in_run (run, "history.csv", history, error) && write_hyper_csv (run, run->records, hyper, error)
      && (payload = checkpoint_payload (run, hyper, meta, checkpoint, &version, error))
      && checkpoint_write (checkpoint, payload, version, error) && (!run->replaces || replace_earlier_run (run, error))) {
    drop_theta_not_kept (run->records, run->n);
    return TRUE;
  }
  /* Not recorded: the run's history stays as it was, and a second try
   * appends the record once. hyper.csv on disk still begins with the rows
   * it had (a failed write leaves the earlier file; one that went through
   * only added rows), so it is continued from there as before. */
  g_ptr_array_remove_index (run->records, run->records->len - 1);
  run->hyper_records = hyper_records;
  run->hyper_bytes = hyper_bytes;
  run->hyper_tail_crc = hyper_tail_crc;
  run->hyper_set_aside = hyper_set_aside;
  return FALSE;
}

gboolean
drmad_run_record_final (DrmadRun *run, DrmadHyper *hyper, double initial_test_loss, double initial_test_error,
                        double learned_test_loss, double learned_test_error, double best_test_loss,
                        double best_test_error, GError **error)
{
  g_autoptr (GString) history = history_csv (run, hyper);
  const char *labels[3] = { "final-initial", "final-learned", "final-best" };
  double losses[3] = { initial_test_loss, learned_test_loss, best_test_loss };
  double errors[3] = { initial_test_error, learned_test_error, best_test_error };
  for (guint k = 0; k < 3; k++) {
    g_string_append (history, labels[k]);
    for (guint column = 1; column < 17 + run->n_groups; column++)
      g_string_append_c (history, ',');
    g_string_append_c (history, ',');
    append_number (history, losses[k]);
    g_string_append_c (history, ',');
    append_number (history, errors[k]);
    g_string_append_c (history, '\n');
  }
  return write_in_run (run, "history.csv", history, error);
}

/* The most a checkpoint is read, written or checksummed in at once: zlib's
 * crc32() takes a uInt, and read() on Linux moves at most 0x7ffff000 bytes
 * a call. Test hook (docs/reliability.md): DRMAD_CHECKPOINT_CHUNK=BYTES
 * lowers it, so that a small checkpoint takes the many-chunk path. */
static gsize
checkpoint_chunk (void)
{
  gsize chunk = (gsize) 1 << 30;
#ifdef DRMAD_TEST_HOOKS
  const char *spec = g_getenv ("DRMAD_CHECKPOINT_CHUNK");
  if (spec && g_ascii_strtoull (spec, NULL, 10) > 0)
    chunk = MIN (chunk, g_ascii_strtoull (spec, NULL, 10));
#endif
  return chunk;
}

static guint32
checkpoint_crc (guint32 crc, const guint8 *data, gsize length)
{
  gsize chunk = checkpoint_chunk ();
  for (gsize done = 0; done < length; done += MIN (length - done, chunk))
    crc = crc32 (crc, data + done, MIN (length - done, chunk));
  return crc;
}

/* Bytes of memory this process can still take (MemAvailable plus free
 * swap, or the room under its cgroup's memory limit where that is less:
 * drmad_memory_room), or G_MAXUINT64 where it cannot be told; @bound gets
 * which, a new string. Test hook (docs/reliability.md):
 * DRMAD_INJECT_FAULT=memory:BYTES pretends that much is available. */
static guint64
memory_available (char **bound)
{
  const char *bytes = INJECTED ("memory");
  if (bytes) {
    *bound = g_strdup ("as the test hook DRMAD_INJECT_FAULT says");
    return g_ascii_strtoull (bytes, NULL, 10);
  }
  return drmad_memory_room (TRUE, bound);
}

static gboolean
checkpoint_write (const char *path, GBytes *payload, guint32 version, GError **error)
{
  /* In pieces, not copied into one buffer first: the payload holds θ of
   * every record (hundreds of megabytes with L2 per weight). */
  gsize size;
  const guint8 *data = g_bytes_get_data (payload, &size);
  guint64 length = size;
  guint32 crc = checkpoint_crc (crc32 (0, NULL, 0), data, size);
  gsize chunk = checkpoint_chunk ();
  AtomicFile file;
  if (!atomic_open (&file, path, error) || !atomic_write (&file, CHECKPOINT_MAGIC, 8, error)
      || !atomic_write (&file, &version, 4, error) || !atomic_write (&file, &length, 8, error))
    return FALSE;
  for (gsize done = 0; done < size; done += MIN (size - done, chunk))
    if (!atomic_write (&file, data + done, MIN (size - done, chunk), error))
      return FALSE;
  return atomic_write (&file, &crc, 4, error) && atomic_commit (&file, error);
}

gboolean
drmad_checkpoint_write (const char *path, GBytes *payload, GError **error)
{
  return checkpoint_write (path, payload, CHECKPOINT_VERSION, error);
}

/* Reads @length bytes into @buffer in chunks, the CRC-32 of them into
 * @crc when not NULL; the bytes read (fewer at the end of the file), or
 * -1 with errno. */
static gssize
read_chunks (int fd, guint8 *buffer, gsize length, guint32 *crc)
{
  gsize chunk = checkpoint_chunk (), done = 0;
  while (done < length) {
    ssize_t got = read (fd, buffer + done, MIN (length - done, chunk));
    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0)
      return -1;
    if (got == 0)
      break;
    if (crc)
      *crc = crc32 (*crc, buffer + done, got);
    done += got;
  }
  return done;
}

/* The frame's head: the first 20 of the @got bytes read of @path (a file of
 * @size bytes) hold the magic, a version this drmad reads and
 * a payload length that fits @size; @version and @length get them. FALSE
 * with @error naming the file and the fault otherwise. */
static gboolean
checkpoint_head (const char *path, const guint8 *head, gsize got, guint64 size, guint32 *version, guint64 *length,
                 GError **error)
{
  if (got < 20 || size < 24 || memcmp (head, CHECKPOINT_MAGIC, 8) != 0) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_BAD_MAGIC,
                 "%s is not a drmad checkpoint (expected the magic \"%s\" and at least 24 bytes, found %" G_GUINT64_FORMAT " bytes)",
                 path, CHECKPOINT_MAGIC, MAX (size, (guint64) got));
    return FALSE;
  }
  memcpy (version, head + 8, 4);
  memcpy (length, head + 12, 8);
  if (*version < CHECKPOINT_OLDEST_VERSION || *version > CHECKPOINT_VERSION) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_CORRUPT,
                 "%s has checkpoint version %u; this drmad reads versions %d to %d", path, *version,
                 CHECKPOINT_OLDEST_VERSION, CHECKPOINT_VERSION);
    return FALSE;
  }
  if (*length > size || *length + 24 != size) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_TRUNCATED,
                 "%s claims a %" G_GUINT64_FORMAT "-byte payload but holds %" G_GUINT64_FORMAT " bytes in all",
                 path, *length, size);
    return FALSE;
  }
  return TRUE;
}

/* The payload, and in @version the version of a file this drmad reads.
 * Read with read() into a buffer of the payload's size: g_file_get_contents()
 * would do, but the file is refused up front, with its size and the memory
 * there is, where it cannot be held. @decoded: the caller decodes it while
 * holding it (drmad_run_restore: its records' θ and group norms, and a copy
 * of the optimiser state, about as many bytes again), so the peak, twice
 * the payload, is what must fit. */
static GBytes *
checkpoint_read (const char *path, guint32 *version_read, gboolean decoded, GError **error)
{
  /* Never blocks, as drmad_read_regular_file(): a FIFO in checkpoint.bin's
   * place (put there after drmad_run_has_checkpoint() looked, or given to
   * drmad_checkpoint_read()) held --resume, Open run and Compare in open()
   * for good, waiting for a writer. stat() first, since open() of a socket
   * fails before fstat() could name it; fstat() too, since the file can be
   * replaced between the two. Only a regular file is read
   * (docs/reliability.md). */
  GStatBuf seen;
  struct stat st = { 0 };
  int fd = -1;
  if (g_stat (path, &seen) == 0 && !S_ISREG (seen.st_mode))
    st.st_mode = seen.st_mode;
  else if ((fd = open (path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0 || fstat (fd, &st) != 0) {
    int saved = errno;
    if (fd >= 0)
      close (fd);
    g_set_error (error, DRMAD_ERROR, saved == ENOENT ? DRMAD_ERROR_NOT_FOUND : DRMAD_ERROR_IO,
                 "cannot read the checkpoint: failed to open file \u201c%s\u201d: %s", path, g_strerror (saved));
    return NULL;
  }
  if (!S_ISREG (st.st_mode)) {
    if (fd >= 0)
      close (fd);
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_IO, "cannot read the checkpoint %s: it is %s, not a regular file",
                 path, file_kind (st.st_mode));
    return NULL;
  }
  guint8 head[20];
  gssize got = read_chunks (fd, head, sizeof head, NULL);
  if (got < 0) {
    int saved = errno;
    close (fd);
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_IO, "cannot read the checkpoint: failed to read from file "
                 "\u201c%s\u201d: %s", path, g_strerror (saved));
    return NULL;
  }
  guint64 size = st.st_size;
  guint32 version, crc, stored;
  guint64 length;
  if (!checkpoint_head (path, head, got, size, &version, &length, error)) {
    close (fd);
    return NULL;
  }
  g_autofree char *bound = NULL;
  guint64 available = memory_available (&bound);
  guint64 peak = decoded ? (length <= G_MAXUINT64 / 2 ? 2 * length : G_MAXUINT64) : length;
  guint8 *payload = peak <= available && length < G_MAXSIZE ? g_try_malloc (MAX (length, 1)) : NULL;
  if (!payload) {
    close (fd);
    g_autofree char *available_text = drmad_memory_text (available), *peak_text = drmad_memory_text (peak);
    g_autofree char *length_text = drmad_memory_text (length);
    g_autofree char *memory = available == G_MAXUINT64 ? g_strdup ("no memory could be allocated for it")
                              : g_strdup_printf ("%" G_GUINT64_FORMAT " bytes (%s) of memory are available "
                                                 "(%s)", available, available_text, bound);
    g_autofree char *held = decoded ? g_strdup_printf (", held with what is decoded from it, %" G_GUINT64_FORMAT
                                                       " bytes (%s) in all,", peak, peak_text)
                                    : g_strdup ("");
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_OUT_OF_MEMORY,
                 "%s is too big to read here: its payload is %" G_GUINT64_FORMAT " bytes (%s)%s and %s", path,
                 length, length_text, held, memory);
    return NULL;
  }
  crc = crc32 (0, NULL, 0);
  gssize read_payload = read_chunks (fd, payload, length, &crc);
  gssize read_crc = read_payload == (gssize) length ? read_chunks (fd, (guint8 *) &stored, 4, NULL) : 0;
  guint8 extra;
  gssize read_more = read_crc == 4 ? read_chunks (fd, &extra, 1, NULL) : 0;
  int saved = errno;
  close (fd);
  if (read_payload < 0 || read_crc < 0 || read_more < 0) {
    g_free (payload);
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_IO, "cannot read the checkpoint: failed to read from file "
                 "\u201c%s\u201d: %s", path, g_strerror (saved));
    return NULL;
  }
  if (read_payload != (gssize) length || read_crc != 4 || read_more != 0) {   /* changed while read */
    g_free (payload);
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_TRUNCATED,
                 "%s claims a %" G_GUINT64_FORMAT "-byte payload but holds %" G_GUINT64_FORMAT " bytes in all",
                 path, length, (guint64) (20 + MAX (read_payload, 0) + MAX (read_crc, 0) + MAX (read_more, 0)));
    return NULL;
  }
  if (crc != stored) {
    g_free (payload);
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_CORRUPT, "%s fails its CRC-32 check: the file is damaged", path);
    return NULL;
  }
  *version_read = version;
  return g_bytes_new_take (payload, length);
}

GBytes *
drmad_checkpoint_read (const char *path, GError **error)
{
  guint32 version;
  return checkpoint_read (path, &version, FALSE, error);
}

/* The first "key=value" line of @stored (the checkpoint's) that @current
 * does not have, as an error naming both values. */
static gboolean
identities_agree (const char *stored, const char *current, const char *path, GError **error)
{
  g_auto (GStrv) old_lines = g_strsplit (stored, "\n", -1);
  g_auto (GStrv) new_lines = g_strsplit (current, "\n", -1);
  for (guint i = 0; old_lines[i]; i++) {
    if (!*old_lines[i] || g_strv_contains ((const char *const *) new_lines, old_lines[i]))
      continue;
    const char *equals = strchr (old_lines[i], '=');
    gsize key_length = equals ? (gsize) (equals - old_lines[i]) + 1 : strlen (old_lines[i]);
    const char *now = NULL;
    for (guint k = 0; new_lines[k] && !now; k++)
      if (strncmp (new_lines[k], old_lines[i], key_length) == 0)
        now = new_lines[k];
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_MISMATCH,
                 "%s was written by a run with %s; this run has %s: resuming would mix two runs in one history",
                 path, old_lines[i], now ? now : "nothing of the kind");
    return FALSE;
  }
  return TRUE;
}

/* The payload's header integers, as many as @version has (the later ones
 * 0 before version 6); their bytes, or 0 when the payload is shorter. */
static gsize
payload_header (const guint8 *data, gsize size, guint32 version, guint64 header[PAYLOAD_HEADER])
{
  gsize bytes = (version >= 6 ? PAYLOAD_HEADER : 5) * sizeof (guint64);
  memset (header, 0, PAYLOAD_HEADER * sizeof (guint64));
  if (size < bytes)
    return 0;
  memcpy (header, data, bytes);
  return bytes;
}

gboolean
drmad_checkpoint_bytes_records (GBytes *contents, const char *path, guint64 *records, GError **error)
{
  g_return_val_if_fail (contents != NULL && records != NULL, FALSE);
  gsize size;
  const guint8 *data = g_bytes_get_data (contents, &size);
  guint32 version, stored;
  guint64 length, header[PAYLOAD_HEADER];
  /* the frame checked as checkpoint_read() checks a file's, CRC included */
  if (!checkpoint_head (path, data, size, size, &version, &length, error))
    return FALSE;
  memcpy (&stored, data + 20 + length, 4);
  if (checkpoint_crc (crc32 (0, NULL, 0), data + 20, length) != stored) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_CORRUPT, "%s fails its CRC-32 check: the file is damaged", path);
    return FALSE;
  }
  gsize header_size = payload_header (data + 20, length, version, header);
  if (!header_size || header[1] > length - header_size) {   /* every record takes bytes */
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_CORRUPT, "%s is damaged: its parts do not fit its size", path);
    return FALSE;
  }
  *records = header[1];
  return TRUE;
}

char *
drmad_run_read_identity (const DrmadRun *run, GError **error)
{
  g_autofree char *path = g_build_filename (run->folder, "checkpoint.bin", NULL);
  guint32 version;
  g_autoptr (GBytes) payload = checkpoint_read (path, &version, FALSE, error);
  if (!payload)
    return NULL;
  gsize size;
  const guint8 *data = g_bytes_get_data (payload, &size);
  guint64 header[PAYLOAD_HEADER];
  gsize header_size = payload_header (data, size, version, header);
  if (!header_size || header[0] > size - header_size || header[4] > size - header_size - header[0]) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_CORRUPT, "%s is damaged: its parts do not fit its size", path);
    return NULL;
  }
  return g_strndup ((const char *) data + header_size + header[0], header[4]);
}

gboolean
drmad_run_load_history (DrmadRun *run, DrmadHyper *hyper, GError **error)
{
  return drmad_run_restore (run, hyper, NULL, error);
}

/* A record read from a checkpoint at @p (@version's layout; @has_theta:
 * whether θ follows it), into @r; FALSE where it names no known method. */
static gboolean
read_record (DrmadRunRecord *r, const guint8 *p, guint32 version, gsize n, gsize n_groups, const DrmadHyper *hyper,
             gboolean has_theta)
{
  gboolean old = version < 4;   /* no ranks, no spreads */
  gsize n_counts = version < 4 ? RECORD_COUNTS - 2 : version < 6 ? RECORD_COUNTS - 1 : RECORD_COUNTS;
  gsize n_values = RECORD_VALUES - 2 * old;
  guint64 counts[RECORD_COUNTS] = { 0 };   /* version 3: ranks 0, unknown */
  double values[RECORD_VALUES] = { 0 }, fidelity[3];
  guint64 missing = old ? (guint64) 2 << 5 | (guint64) 2 << 6 : 0;   /* the spreads of version 3: NaN */
  memcpy (counts, p, n_counts * sizeof (guint64));
  p += n_counts * sizeof (guint64);
  memcpy (values, p, n_values * sizeof (double));
  p += n_values * sizeof (double);
  memcpy (fidelity, p, sizeof fidelity);
  p += sizeof fidelity;
  counts[1] |= missing;
  if (counts[5] > DRMAD_METHOD_AUTO || counts[9] > DRMAD_METHOD_AUTO || counts[6] > G_MAXUINT
      || counts[7] > G_MAXUINT || counts[10] > G_MAXUINT || counts[11] > G_MAXUINT)
    return FALSE;
  r->method = (DrmadReverseConfig) { .method = counts[5], .checkpoint_every = counts[6], .snapshots = counts[7],
                                     .reverse_steps = counts[8] };
  r->fidelity_measured = counts[4] != 0;
  r->fidelity_reference = (DrmadReverseConfig) { .method = counts[9], .checkpoint_every = counts[10],
                                                 .snapshots = counts[11], .reverse_steps = counts[12] };
  r->fidelity = r->fidelity_measured
                ? (DrmadFidelity) { fidelity[0], fidelity[1], fidelity[2] } : (DrmadFidelity) { NAN, NAN, NAN };
  for (guint k = 0; k < G_N_ELEMENTS (values); k++)
    if (counts[1] & ((guint64) 2 << k))
      values[k] = NAN;
  r->iteration = counts[0];
  r->rejected = (counts[1] & 1) != 0;
  r->device_peak_bytes = counts[2];
  r->host_peak_bytes = counts[3];
  r->train_loss = values[0];
  r->val_loss = values[1];
  r->val_error = values[2];
  r->seconds = values[3];
  r->meta_learning_rate = values[4];
  r->val_loss_spread = values[5];
  r->hypergradient_norm_spread = values[6];
  r->ranks = MIN (counts[13], G_MAXUINT);
  r->group_norms = g_memdup2 (p, MAX (n_groups, 1) * sizeof (double));
  for (guint g = 0; g < n_groups && (counts[1] & NORMS_MISSING); g++)
    r->group_norms[g] = NAN;
  p += n_groups * sizeof (double);
  const guint8 *stored_cells = p;
  if (version >= 6)
    p += n_cells (hyper) * sizeof (double);
  if (has_theta)
    r->theta = g_memdup2 (p, MAX (n, 1) * sizeof (double));
  /* before version 6 the cells are θ's, computed here once */
  record_set_cells (r, hyper, version >= 6 ? NULL : r->theta, (const double *) stored_cells);
  return TRUE;
}

/* Cuts hyper.csv at @path to @length, the rows the checkpoint counts, where
 * a run killed after writing it and before its checkpoint left rows beyond
 * (docs/reliability.md): one truncate, which the file goes through whole or
 * not at all. Where it cannot be written the next record writes the file
 * anew through a temporary from the first @length bytes anyway. */
static void
cut_hyper_csv (const char *path, guint64 length)
{
  /* Only a regular file of one name, the run's own: truncating through a
   * symbolic or hard link would cut a file outside the run folder, which a
   * resume that only re-evaluates must never touch. Such a hyper.csv is
   * left as it is; the next record's rewrite through a temporary file
   * copies its first @length bytes and so breaks the link
   * (docs/reliability.md). */
  int fd = open (path, O_WRONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
  struct stat st;
  if (fd < 0)
    return;
  if (fstat (fd, &st) == 0 && S_ISREG (st.st_mode) && st.st_nlink == 1 && (guint64) st.st_size > length)
    (void) ftruncate (fd, length);
  close (fd);
}

gboolean
drmad_run_restore (DrmadRun *run, DrmadHyper *hyper, DrmadMeta *meta, GError **error)
{
  g_autofree char *path = g_build_filename (run->folder, "checkpoint.bin", NULL);
  guint32 version;
  g_autoptr (GBytes) payload = checkpoint_read (path, &version, TRUE, error);
  if (!payload)
    return FALSE;
  gsize size;
  const guint8 *data = g_bytes_get_data (payload, &size);
  guint64 header[PAYLOAD_HEADER];
  gsize n = drmad_hyper_get_n (hyper), n_groups = drmad_hyper_get_n_groups (hyper), cells = n_cells (hyper);
  gsize n_counts = version < 4 ? RECORD_COUNTS - 2 : version < 6 ? RECORD_COUNTS - 1 : RECORD_COUNTS;
  gsize n_values = RECORD_VALUES - 2 * (version < 4);
  /* a record without θ; before version 6, θ in place of the cells */
  gsize record_size = n_counts * sizeof (guint64) + (n_values + 3) * sizeof (double)
                      + (n_groups + (version >= 6 ? cells : n)) * sizeof (double);
  gsize header_size = payload_header (data, size, version, header);
  gboolean framed = header_size && header[0] <= size && header[1] <= size && header[4] <= size;
  /* The settings first: a run.ini whose --layers or --learn was edited
   * gives another θ, and the line that changed says more than its size. */
  if (framed && header_size + header[0] + header[4] <= size) {
    g_autofree char *identity = g_strndup ((const char *) data + header_size + header[0], header[4]);
    if (run->identity && *identity && !identities_agree (identity, run->identity, path, error))
      return FALSE;
  }
  if (framed && version >= 6 && header[2] == n && header[3] == n_groups && header[5] != cells) {
    /* θ alike, its summaries not: the schedules' segments (which a run that
     * learns neither lr nor momentum may change without changing θ) */
    guint layers = drmad_hyper_get_n_layers (hyper);
    guint64 per = 2 * (guint64) layers;
    g_autofree char *theirs = header[5] > per && (header[5] - per) % per == 0
                              ? g_strdup_printf (" and %" G_GUINT64_FORMAT " in the checkpoint", (header[5] - per) / per)
                              : g_strdup ("");
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_MISMATCH,
                 "%s keeps %" G_GUINT64_FORMAT " per-layer values a meta-iteration where this run has %" G_GSIZE_FORMAT
                 " (one a layer for l2 and init, one a layer and segment for lr and momentum: %u layers, %u segments "
                 "here%s), with the same %" G_GSIZE_FORMAT " hyperparameters: the segments differ from the run's",
                 path, header[5], cells, layers, layers ? drmad_hyper_get_n_cells (hyper, DRMAD_GROUP_LR) / layers : 0,
                 theirs, n);
    return FALSE;
  }
  if (framed && (header[2] != n || header[3] != n_groups || (version >= 6 && header[5] != cells))) {
    /* whole, but of another θ */
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_MISMATCH,
                 "%s holds %" G_GUINT64_FORMAT " hyperparameter values in %" G_GUINT64_FORMAT " groups; this run "
                 "has %" G_GSIZE_FORMAT " in %" G_GSIZE_FORMAT ": it is another run's, or damaged", path, header[2],
                 header[3], n, n_groups);
    return FALSE;
  }
  /* Where each record starts, and whether it holds θ: every record before
   * version 6, those whose count 14 says so after. */
  g_autofree gsize *offsets = NULL;
  g_autofree gboolean *has_theta = NULL;
  gsize at = framed ? header_size + header[0] + header[4] : 0;
  gboolean fits = framed && at <= size;
  if (fits && header[1] > (size - at) / record_size) {
    /* refused before it sizes anything: CRC-valid, a damaged count would
     * have asked for up to 12 bytes of offsets a byte of the file */
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_CORRUPT,
                 "%s is damaged: it counts %" G_GUINT64_FORMAT " meta-iterations, where its %" G_GSIZE_FORMAT
                 " bytes hold at most %" G_GSIZE_FORMAT " (%" G_GSIZE_FORMAT " bytes each at least)", path, header[1],
                 size, (size - at) / record_size, record_size);
    return FALSE;
  }
  if (fits) {
    offsets = g_try_new (gsize, MAX (header[1], 1));
    has_theta = g_try_new (gboolean, MAX (header[1], 1));
    if (!offsets || !has_theta) {
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_OUT_OF_MEMORY, "cannot read %s: no memory for its %"
                   G_GUINT64_FORMAT " records", path, header[1]);
      return FALSE;
    }
  }
  for (guint64 i = 0; fits && i < header[1]; i++) {
    offsets[i] = at;
    if (size - at < record_size) {
      fits = FALSE;
      break;
    }
    guint64 holds = version < 6;
    if (version >= 6)
      memcpy (&holds, data + at + 14 * sizeof (guint64), sizeof holds);
    has_theta[i] = holds != 0;
    at += record_size;
    if (version >= 6 && (holds > 1 || (holds && size - at < n * sizeof (double))))
      fits = FALSE;
    else if (version >= 6 && holds)
      at += n * sizeof (double);
  }
  gboolean has_start = fits && version >= 5 && size - at == n * sizeof (double) && n > 0;
  if (!fits || (size != at && !has_start)) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_CORRUPT,
                 "%s does not match this run's hyperparameters (%" G_GSIZE_FORMAT " values in %" G_GSIZE_FORMAT
                 " groups) or is damaged", path, n, n_groups);
    return FALSE;
  }
  if (meta && drmad_meta_get_hyper (meta) != hyper) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                 "the hyperparameters given are not the ones the optimiser moves (drmad_meta_new)");
    return FALSE;
  }
  /* All or nothing: the records are read first, the optimiser state loaded
   * last (it checks itself and leaves the optimiser untouched on failure). */
  g_autoptr (GPtrArray) records = g_ptr_array_new_with_free_func ((GDestroyNotify) record_free);
  for (guint64 i = 0; i < header[1]; i++) {
    DrmadRunRecord *r = g_new0 (DrmadRunRecord, 1);
    g_ptr_array_add (records, r);
    if (!read_record (r, data + offsets[i], version, n, n_groups, hyper, has_theta[i])) {
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_CORRUPT, "%s: record %" G_GUINT64_FORMAT " names no known "
                   "method: the file is damaged", path, i + 1);
      return FALSE;
    }
  }
  /* hyper.csv as the checkpoint counts it, for a run that goes on writing
   * (docs/reliability.md): where the file on disk is the one written then,
   * cut here to the rows the checkpoint counts (rows a run killed before
   * its checkpoint wrote go) and continued at the next record; else written
   * anew there from every record's θ where the records hold it (always
   * before version 6), kept until then; else, θ of the earlier records let
   * go, moved aside there and begun anew from the records that keep θ. A
   * resume that records nothing leaves it as it is. */
  guint hyper_records = 0;
  guint64 hyper_bytes = 0;
  guint32 hyper_tail_crc = 0;
  gboolean keep_theta = FALSE, set_aside = FALSE;
  g_autofree char *notice = NULL, *cut = NULL;   /* cut: hyper.csv to cut once the restore went through */
  if (meta && run->lock_fd >= 0 && records->len) {
    guint saved_records = run->hyper_records;
    guint64 saved_bytes = run->hyper_bytes;
    guint32 saved_crc = run->hyper_tail_crc;
    gsize saved_n = run->n;
    run->n = n;
    run->hyper_records = version >= 6 && header[6] ? records->len : 0;
    run->hyper_bytes = header[6];
    run->hyper_tail_crc = header[7];
    g_autofree char *csv = g_build_filename (run->folder, "hyper.csv", NULL);
    g_autofree char *why = NULL;
    if (run->hyper_records && hyper_csv_continues (run, csv, &why))
      cut = g_steal_pointer (&csv);
    else if (records_hold_theta (records)) {   /* before drop_theta_not_kept: every record's θ writes it */
      run->hyper_records = 0;
      keep_theta = TRUE;
    } else {
      guint first = first_with_theta (records);
      g_autofree char *reason = theta_not_kept_reason (n);
      GStatBuf st;
      GString *text = g_string_new (NULL);
      g_string_printf (text, "%s is not the one this run wrote (%s) and %s: at the next meta-iteration ", csv,
                       why ? why : "its checkpoint does not say what it holds", reason);
      g_autoptr (GError) aside_error = NULL;
      g_autofree char *aside = g_lstat (csv, &st) == 0 ? aside_name (csv, &aside_error) : NULL;
      if (aside_error)
        /* a resume that only evaluates again goes on; no new hyper.csv
         * begins, the record fails (write_hyper_csv) */
        g_string_append_printf (text, "it is to be kept aside, but %s; that meta-iteration will fail",
                                aside_error->message);
      else {
        if (aside)
          g_string_append_printf (text, "it is kept as %s and ", aside);
        const DrmadRunRecord *last = records->pdata[records->len - 1];
        g_string_append_printf (text, "a new hyper.csv begins with meta-iteration %u",
                                first < records->len ? ((const DrmadRunRecord *) records->pdata[first])->iteration
                                : last->iteration + 1);
        guint from = ((const DrmadRunRecord *) records->pdata[0])->iteration;
        if (first == 1)
          g_string_append_printf (text, ", without meta-iteration %u", from);
        else if (first > 1)
          g_string_append_printf (text, ", without meta-iterations %u to %u", from,
                                  ((const DrmadRunRecord *) records->pdata[first - 1])->iteration);
      }
      notice = g_string_free (text, FALSE);
      run->hyper_records = 0;
      set_aside = TRUE;
    }
    hyper_records = run->hyper_records;
    hyper_bytes = run->hyper_bytes;
    hyper_tail_crc = run->hyper_tail_crc;
    run->n = saved_n;
    run->hyper_records = saved_records;
    run->hyper_bytes = saved_bytes;
    run->hyper_tail_crc = saved_crc;
  }
  /* written anew at the next record: every record's θ kept until then */
  if (!keep_theta)
    drop_theta_not_kept (records, n);
  g_autoptr (GBytes) state = g_bytes_new (data + header_size, header[0]);
  GError *local = NULL;
  if (meta && !drmad_meta_load_state (meta, state, &local)) {
    /* the state's own faults are the file's: its name first, as every
     * other message of the restore has it (fuzz-checkpoint found them
     * without, docs/reliability.md) */
    if (g_error_matches (local, DRMAD_ERROR, DRMAD_ERROR_CORRUPT)
        || g_error_matches (local, DRMAD_ERROR, DRMAD_ERROR_MISMATCH))
      g_prefix_error (&local, "%s: ", path);
    g_propagate_error (error, local);
    return FALSE;
  }
  if (meta && records->len) {
    /* auto goes on with the method the run used (it may choose another now) */
    const DrmadRunRecord *last = records->pdata[records->len - 1], *measured = NULL;
    for (guint i = records->len; i-- > 0 && !measured;)
      if (((const DrmadRunRecord *) records->pdata[i])->fidelity_measured)
        measured = records->pdata[i];
    drmad_meta_keep_recorded_method (meta, &last->method, measured ? &measured->fidelity_reference : NULL);
  }
  g_ptr_array_unref (run->records);
  run->records = g_steal_pointer (&records);
  run->n = n;
  run->n_groups = n_groups;
  run->hyper_records = hyper_records;
  run->hyper_bytes = hyper_bytes;
  run->hyper_tail_crc = hyper_tail_crc;
  run->hyper_set_aside = set_aside;
  if (cut)
    cut_hyper_csv (cut, hyper_bytes);
  g_free (run->hyper_notice);
  run->hyper_notice = g_steal_pointer (&notice);
  g_free (run->start);
  run->start = has_start ? g_memdup2 (data + at, n * sizeof (double)) : NULL;
  return TRUE;
}

gboolean
drmad_run_set_start (DrmadRun *run, const DrmadHyper *hyper, GError **error)
{
  if (run->records->len > 0) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                 "%s already holds meta-iterations: the θ its first one measured cannot be set now", run->folder);
    return FALSE;
  }
  g_free (run->start);
  run->n = drmad_hyper_get_n (hyper);
  run->n_groups = drmad_hyper_get_n_groups (hyper);
  run->start = g_memdup2 (drmad_hyper_get_values (hyper), MAX (run->n, 1) * sizeof (double));
  return TRUE;
}

const double *
drmad_run_get_start (const DrmadRun *run)
{
  return run->start;
}

const char *
drmad_run_get_hyper_csv_notice (const DrmadRun *run)
{
  return run->hyper_notice;
}
