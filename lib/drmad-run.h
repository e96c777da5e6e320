/* drmad: the run folder (docs/architecture.md, "The run folder"): run.ini, history.csv,
 * hyper.csv and checkpoint.bin, every file written atomically but hyper.csv's
 * new rows, appended in place. */
#pragma once

#include <glib.h>
#include "drmad-meta.h"

G_BEGIN_DECLS

/* The most entries θ may have for every record to keep it whole
 * (DrmadRunRecord.theta): past it (an L2 per weight: 1.8 million for
 * 784-1000-1000-10) only the last record does, so that the memory a run
 * holds and the checkpoint it rewrites after every meta-iteration do not
 * grow by θ's size with each one (docs/architecture.md, "The run folder"). */
#define DRMAD_RUN_THETA_KEPT_MAX 65536

/* One meta-iteration as the run folder keeps it. Records and their arrays
 * belong to the run (drmad_run_get_record). */
typedef struct {
  guint    iteration;
  gboolean rejected;
  double   train_loss, val_loss, val_error, seconds, meta_learning_rate;
  guint64  device_peak_bytes, host_peak_bytes;
  double  *group_norms;   /* n_groups; NaN where the meta-iteration's pass diverged (drmad-meta.h) */
  /* θ after the iteration (raw), n values, or NULL: check before reading
   * it. Every record has it while n ≤ DRMAD_RUN_THETA_KEPT_MAX, else the
   * last record only and the others NULL (hyper.csv has every record's
   * θ); a record may be NULL with a smaller θ too, where the checkpoint
   * was written so (under a lower limit). The per-layer values below are
   * never NULL. */
  double  *theta;
  DrmadReverseConfig method;          /* the resolved method used (history.csv method_used) */
  gboolean           fidelity_measured;
  DrmadReverseConfig fidelity_reference;
  DrmadFidelity      fidelity;        /* overall; NaN when not measured */
  /* DrmadMetaReport's: the processes averaged over and the spreads across
   * them; 0 and NaN in a record read from a checkpoint older than them. */
  guint    ranks;
  double   val_loss_spread, hypergradient_norm_spread;
  /* drmad_hyper_cells() of θ after the iteration, in every record whatever
   * n is: what the plots and the learned values show. L = the weight
   * layers, S = the segments; a schedule's cells layer by layer. */
  double  *l2_cells;         /* L */
  double  *lr_cells;         /* L × S */
  double  *momentum_cells;   /* L × S */
  double  *init_cells;       /* L */
} DrmadRunRecord;

typedef struct _DrmadRun DrmadRun;

/* Creates @folder (and parents) and writes @ini_text as run.ini. An existing
 * folder that holds anything is refused with %DRMAD_ERROR_EXISTS unless
 * @force, and even then unless it is a run folder (it has a run.ini): the
 * earlier run stays whole until this one has recorded its first
 * meta-iteration (in a folder beside it: FOLDER.drmad-new- and six random
 * characters), then the new folder takes its place and the earlier run's
 * files go. Whatever is
 * never recorded leaves the earlier run as it was. A symbolic link to a
 * run folder is refused with %DRMAD_ERROR_INVALID_ARGUMENT under @force
 * (the replacement renames folders); a trailing separator does not change
 * what @folder names. The staging folders beside @folder that a process
 * killed before its first record left (marked, unlocked) are removed here
 * and by drmad_run_open().
 * Both calls hold a lock on the folder (fcntl F_OFD_SETLK on FOLDER/.drmad-lock) until
 * drmad_run_free(): a second run of the same folder, from this process or
 * another, gets %DRMAD_ERROR_BUSY with the holder's PID.
 * Each returns a new run, freed with drmad_run_free(), which releases the
 * lock (and removes the side folder of a forced run that never recorded);
 * @folder and @ini_text are copied. */
DrmadRun *drmad_run_create (const char *folder, const char *ini_text, gboolean force, GError **error);
/* drmad_run_create()'s refusals of @folder and @force (an empty name, a
 * file, a folder of other files, a run folder without @force, a link to one
 * with it), and the failures to make what it makes (the folder where a
 * parent is a file or may not be written, the lock file in a folder that
 * may not be written, the folder beside a run to replace), as access(2)
 * foresees them, with the same errors, touching nothing: for a program to
 * say so before it loads its data. The folder can still change before the
 * create. */
gboolean  drmad_run_check_new (const char *folder, gboolean force, GError **error);
/* Opens an existing run folder for resuming: reads run.ini (drmad_run_get_ini).
 * Refuses (%DRMAD_ERROR_CORRUPT) a folder whose history.csv records finished
 * meta-iterations when checkpoint.bin is missing. */
DrmadRun *drmad_run_open   (const char *folder, GError **error);

/* For reading (drmad_run_load_history) while another process may be running
 * it: no lock, nothing removed; drmad_run_record() refuses to write. Refuses
 * as drmad_run_open() does a folder whose checkpoint.bin is missing while
 * history.csv records finished meta-iterations (a reader showed none). */
DrmadRun *drmad_run_open_read_only (const char *folder, GError **error);
/* Whether a process (this one included) is running @folder now, holding the
 * lock drmad_run_create() and drmad_run_open() take; when it is, @holder
 * (may be NULL) gets the PID it wrote ("(unknown)" if none), to g_free(),
 * and is left untouched otherwise. Reads only and takes no lock (F_OFD_GETLK
 * asks), so a writer starting meanwhile is never refused because of it;
 * never blocks, and sets no GError: a folder never run, or whose lock cannot
 * be read or is no regular file, is not. */
gboolean  drmad_run_in_use (const char *folder, char **holder);

/* Rewrites run.ini (a resumed run's settings, e.g. more meta-iterations);
 * @ini_text is copied, and a string drmad_run_get_ini() returned earlier is
 * freed when the text changes. */
gboolean  drmad_run_update_ini (DrmadRun *run, const char *ini_text, GError **error);

/* The settings and data the run's trajectory depends on, as "key=value"
 * lines: kept in checkpoint.bin, and compared by drmad_run_restore() and
 * drmad_run_load_history(), which refuse (%DRMAD_ERROR_MISMATCH) a
 * checkpoint whose lines differ, naming the first that does. @identity is
 * copied. */
void      drmad_run_set_identity (DrmadRun *run, const char *identity);
/* The identity checkpoint.bin was written with ("" from a drmad that kept
 * none), to g_free(); NULL with an error when the file cannot be read or
 * is damaged. */
char     *drmad_run_read_identity (const DrmadRun *run, GError **error);
void      drmad_run_free   (DrmadRun *run);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DrmadRun, drmad_run_free)

/* Both belong to @run: the folder lives as long as the run, the text until
 * drmad_run_update_ini() changes it. */
const char *drmad_run_get_folder (const DrmadRun *run);
const char *drmad_run_get_ini    (const DrmadRun *run);

/* Appends the report of a meta-iteration, rewrites history.csv and
 * checkpoint.bin (the optimiser state and the whole history) and adds the
 * meta-iteration's θ to hyper.csv. @hyper must
 * be the θ @meta moves and @report its last report; all three are borrowed
 * for the call (the run copies what it keeps, so @report may be freed
 * after). hyper.csv is continued from the file on disk, the new rows
 * appended in place after those the run counts and flushed: a process
 * killed meanwhile leaves the counted rows whole, followed by some of the
 * new ones (whole rows of part of θ, then a piece of a row), which
 * drmad_run_restore() cuts; where that file is missing or not
 * the one this run wrote, it is written anew from the records' θ, and
 * where they no longer hold it (DRMAD_RUN_THETA_KEPT_MAX) the call fails
 * with %DRMAD_ERROR_CORRUPT, naming the file and what it should hold. */
gboolean drmad_run_record (DrmadRun *run, DrmadHyper *hyper, DrmadMeta *meta,
                           const DrmadMetaReport *report, GError **error);

/* Whether a meta-iteration has been checkpointed (a run killed before its
 * first one has run.ini only and starts from the beginning). */
gboolean drmad_run_has_checkpoint (const DrmadRun *run);

/* Restores the optimiser state and the history from checkpoint.bin: the
 * state, θ included, goes into @meta and the θ it moves, which @hyper must
 * be (both borrowed for the call). Records that drmad_run_get_record()
 * returned before are freed. A run opened with drmad_run_open() also
 * checks that hyper.csv holds the rows the checkpoint counts (its length
 * and the CRC-32 of its last bytes then, kept in the checkpoint), and
 * refuses with %DRMAD_ERROR_CORRUPT one that does not where the records do
 * not hold θ to write it anew; a checkpoint of an older drmad (versions 3
 * to 5, which keep every record's θ) of more than
 * DRMAD_RUN_THETA_KEPT_MAX entries has hyper.csv written anew from it
 * here, before the θ of its earlier records is let go. A checkpoint whose
 * payload, counted twice (it is held while its records and a copy of the
 * optimiser state are decoded from it, about as many bytes again), is more
 * than the memory this process may still take (MemAvailable plus free
 * swap, or the room under its cgroup's memory limit and each above it
 * where that is less, the cgroup's inactive file cache not counted as
 * used) is refused before it is read, with %DRMAD_ERROR_OUT_OF_MEMORY
 * naming the file, the payload, that peak and the memory and its bound.
 * A whole checkpoint written for a θ of another size (other layers or
 * groups learned) is %DRMAD_ERROR_MISMATCH, like one of other settings;
 * one whose parts do not fit together is %DRMAD_ERROR_CORRUPT. A @meta
 * asked for %DRMAD_METHOD_AUTO goes on with the method of the last record
 * and the fidelity reference of the last measured one, where they still
 * fit the memory (auto chooses within the room this process may take,
 * which moves from one start to the next), so that the resumed run's
 * numbers are an uninterrupted run's; drmad_meta_get_method() and its
 * reason say which (README, "Which method"). */
gboolean drmad_run_restore (DrmadRun *run, DrmadHyper *hyper, DrmadMeta *meta, GError **error);
/* The history alone (drmad_run_get_record), for reading or plotting a run:
 * @hyper may come from drmad_hyper_new_for_sizes(), no device needed. */
gboolean drmad_run_load_history (DrmadRun *run, DrmadHyper *hyper, GError **error);

/* The final evaluation: test loss and error after retraining with the
 * initial θ, the last learned θ and the best accepted θ (lowest validation
 * loss); added to history.csv as rows final-initial, final-learned and
 * final-best. */
gboolean drmad_run_record_final (DrmadRun *run, DrmadHyper *hyper, double initial_test_loss,
                                 double initial_test_error, double learned_test_loss,
                                 double learned_test_error, double best_test_loss, double best_test_error,
                                 GError **error);

/* θ as meta-iteration 1 measures it (after a warm start, drmad_meta_warm_start,
 * not the configuration's values), set before the first record and kept in
 * checkpoint.bin with it, so that a plot of θ can start where the run did.
 * drmad_run_get_start() gives its drmad_hyper_get_n() values (belonging to
 * @run), or NULL where it was never set or the checkpoint is of a drmad
 * before 2026-12-05 (then the configuration's values are θ's start unless
 * the run had a warm start). */
gboolean              drmad_run_set_start     (DrmadRun *run, const DrmadHyper *hyper, GError **error);
const double         *drmad_run_get_start     (const DrmadRun *run);

/* How many meta-iterations the run holds: those drmad_run_restore() or
 * drmad_run_load_history() read, plus one for each drmad_run_record() since
 * (0 for a new run). The final rows (drmad_run_record_final()) are not
 * among them. Records are numbered from 0 for drmad_run_get_record(). */
guint                 drmad_run_get_n_records (const DrmadRun *run);
/* Belongs to @run: valid until drmad_run_free() or the next
 * drmad_run_restore() or drmad_run_load_history(); drmad_run_record()
 * appends, and past DRMAD_RUN_THETA_KEPT_MAX frees the θ of the record
 * that was the last (its theta becomes NULL). */
const DrmadRunRecord *drmad_run_get_record    (const DrmadRun *run, guint index);

/* After drmad_run_restore(): NULL, or a sentence saying that hyper.csv is
 * not the one the checkpoint counts and that θ of the earlier records, to
 * write it anew, is no longer kept, so that the next drmad_run_record()
 * moves it aside (hyper.csv.old-N beside it) and begins it anew, and
 * which meta-iterations the new one lacks. A caller that records prints
 * it; one that only re-evaluates may ignore it (hyper.csv stays as it is).
 * Belongs to @run. */
const char           *drmad_run_get_hyper_csv_notice (const DrmadRun *run);

/* Writes @contents to @path atomically: a temporary file in the same folder,
 * fsync, rename, fsync of the folder. An earlier file survives any failure
 * but the last: where the folder's fsync fails, @path already holds
 * @contents (not yet sure to last through a power loss).
 * A full file system or disk quota fails with %DRMAD_ERROR_NO_SPACE, the
 * disk's I/O error (EIO) with %DRMAD_ERROR_DISK, any other failure with
 * %DRMAD_ERROR_IO; the message names the file. */
gboolean drmad_write_file_atomic (const char *path, const void *contents, gsize length, GError **error);

/* Makes @folder and each missing folder above it (with @mode, less the
 * umask) and flushes the folder each was made in, as drmad_run_create()
 * makes a run folder, so that a file written there with
 * drmad_write_file_atomic() lasts through a power loss with its folders.
 * A folder there already is kept as it is (a link to a folder counts as
 * one); anything else there is refused (ENOTDIR). On failure the folders it
 * made are removed again (those still empty), and the error is as
 * drmad_write_file_atomic()'s, naming the folder. */
gboolean drmad_make_folders (const char *folder, int mode, GError **error);

/* @path's contents (to g_free, NUL-terminated after *@length bytes), read
 * without ever blocking: a FIFO (or a device) in its place blocked open()
 * until a writer came (the window never came up; Open run and Compare runs
 * waited forever in their threads). Anything but a regular file is refused
 * before it is opened (opening a device can act), and left untouched. The
 * one reader of the small text files a user may edit or replace: run.ini
 * (drmad_run_open(), drmad_run_open_read_only()), settings files. FALSE
 * with @error in G_FILE_ERROR, as g_file_get_contents() whose place it
 * takes (G_FILE_ERROR_NOENT where there is no file, G_FILE_ERROR_INVAL for
 * one that is not a regular file), whose message starts "cannot read the
 * @what PATH: ". */
gboolean drmad_read_regular_file (const char *path, const char *what, char **contents, gsize *length,
                                  GError **error);

/* About how many bytes hyper.csv grows by with each meta-iteration of
 * @hyper's θ: a row per entry, with its name and two numbers of about 19
 * and 22 characters (%.17g). */
guint64 drmad_run_hyper_csv_bytes_per_iteration (const DrmadHyper *hyper);

/* checkpoint.bin framing: magic, version, length, payload, CRC-32. Writing
 * borrows @payload and writes the newest version; reading returns a new
 * GBytes to g_bytes_unref(). Reading accepts every version from 3, the
 * oldest (whose records lack the ranks and spreads; before version 6 every
 * record holds θ and no cells), to the one this drmad writes; any other is
 * %DRMAD_ERROR_CORRUPT, its message naming the versions read. Reading
 * refuses a payload bigger than the memory this process may still take (as
 * drmad_run_restore() says, but counted once: nothing is decoded) with
 * %DRMAD_ERROR_OUT_OF_MEMORY before reading it, naming the file, the
 * payload and the memory and its bound (MemAvailable plus free swap, or
 * the cgroup file with its limit and usage). */
gboolean drmad_checkpoint_write (const char *path, GBytes *payload, GError **error);
GBytes  *drmad_checkpoint_read  (const char *path, GError **error);

/* The number of meta-iterations the checkpoint.bin file @contents (read
 * whole, from @path, which messages name) records, from its payload's
 * header alone, without decoding the records (the window's Export checks
 * with it that the files it read are of one meta-iteration,
 * docs/architecture.md "The run folder"). The frame is checked as
 * drmad_checkpoint_read() checks it: the magic, a version from 3 to the one
 * this drmad writes, the length and the CRC-32; FALSE with @error
 * otherwise (%DRMAD_ERROR_BAD_MAGIC, %DRMAD_ERROR_CORRUPT,
 * %DRMAD_ERROR_TRUNCATED). @contents is borrowed (not unreffed); neither it
 * nor @records may be NULL; @records is set only where TRUE is returned. */
gboolean drmad_checkpoint_bytes_records (GBytes *contents, const char *path, guint64 *records, GError **error);

G_END_DECLS
