/* drmad --no-gui --evaluate: θ lines in, result lines out, one process. */
#include "drmad-evaluate.h"
#include "drmad-job.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <string.h>

#define EXIT_FAILED 1
#define EXIT_BAD_INPUT 2

/* The natural range of one entry of θ: the bounds the command line puts
 * on the starting values of its group. */
typedef struct {
  double low, high;   /* both included */
} EntryRange;

static EntryRange
entry_range (DrmadGroupKind kind)
{
  switch (kind) {
  case DRMAD_GROUP_MOMENTUM: return (EntryRange) { DRMAD_HYPER_MOMENTUM_MIN, 1 - DRMAD_HYPER_MOMENTUM_MIN };
  case DRMAD_GROUP_INIT:     return (EntryRange) { DRMAD_HYPER_SCALE_MIN, DRMAD_HYPER_SCALE_MAX };
  default:                   return (EntryRange) { DRMAD_HYPER_RATE_MIN, DRMAD_HYPER_RATE_MAX };
  }
}

static gboolean
parse_entry_value (const char *key, const char *text, DrmadGroupKind kind, double *raw, GError **error)
{
  EntryRange range = entry_range (kind);
  char *end;
  double value = g_ascii_strtod (text, &end);
  gboolean ok = end != text && *end == '\0' && value >= range.low && value <= range.high;
  if (!ok) {
    g_autofree char *quoted = drmad_error_excerpt (text, DRMAD_ERROR_EXCERPT_CHARS);
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT, "%s=%s: expected a number from %.13g up to %.13g", key,
                 quoted, range.low, range.high);
    return FALSE;
  }
  *raw = kind == DRMAD_GROUP_MOMENTUM ? log (value / (1 - value)) : log (value);
  return TRUE;
}

/* What a line may name, for the message on a key it may not. */
static void
set_unknown_key (GError **error, const char *given_key, const DrmadHyper *names)
{
  g_autofree char *key = drmad_error_excerpt (given_key, DRMAD_ERROR_EXCERPT_CHARS);
  static const char *const groups[] = { "l2/", "lr/", "momentum/", "init/" };
  g_autofree char *start = g_strjoinv (", ", (char **) drmad_options_start_keys ());
  gsize n = drmad_hyper_get_n (names);
  g_autofree char *entries = n == 0 ? g_strdup ("θ has no entries (--learn none)")
                             : n == 1 ? g_strdup_printf ("θ's one entry %s", drmad_hyper_get_name (names, 0))
                             : g_strdup_printf ("θ's %" G_GSIZE_FORMAT " entries %s … %s", n,
                                                drmad_hyper_get_name (names, 0), drmad_hyper_get_name (names, n - 1));
  guint n_specs;
  const DrmadOptionSpec *specs = drmad_options_get_specs (&n_specs);
  for (guint i = 0; i < n_specs; i++)
    if (specs[i].in_ini && g_str_equal (specs[i].name, given_key)) {
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                   "%s is the same for every line (give --%s on the command line); a line sets %s, or %s", key, key,
                   start, entries);
      return;
    }
  for (guint g = 0; g < G_N_ELEMENTS (groups); g++)
    if (g_str_has_prefix (given_key, groups[g])) {
      if (n == 0)
        g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                     "θ has no entry %s: θ has no entries (--learn none); a line sets %s", key, start);
      else
        g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                     "θ has no entry %s here: expected one of %s (which entries θ has follows --learn, "
                     "--l2-granularity, --segments and --layers)", key, entries);
      return;
    }
  g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT, "unknown key \"%s\": expected %s, or %s", key, start,
               entries);
}

DrmadHyper *
drmad_evaluate_parse_line (const DrmadOptions *o, const guint *sizes, guint n_sizes, const char *line,
                           GError **error)
{
  /* Split in place: a split into strings would allocate one per blank (a
   * line of 10 MB of blanks took 650 MB). */
  static const char blanks[] = " \t\r\n\v\f";
  g_autofree char *text = g_strdup (line);
  char *next = text + strspn (text, blanks);
  if (!*next || *next == '#')
    return NULL;

  /* The names depend only on which groups are learned and the widths, not on the starting values. */
  g_autoptr (DrmadHyper) names = drmad_hyper_new_for_sizes (sizes, n_sizes, &o->hyper, error);
  if (!names)
    return NULL;
  gsize n = drmad_hyper_get_n (names);
  g_autoptr (GHashTable) index_of = g_hash_table_new (g_str_hash, g_str_equal);
  for (gsize i = 0; i < n; i++)
    g_hash_table_insert (index_of, (gpointer) drmad_hyper_get_name (names, i), GSIZE_TO_POINTER (i + 1));

  DrmadHyperConfig config = o->hyper;
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  g_autofree double *raw = g_new (double, MAX (n, 1));
  g_autofree gboolean *set = g_new0 (gboolean, MAX (n, 1));
  while (*next) {
    char *item = next;
    next += strcspn (next, blanks);
    if (*next)
      *next++ = '\0';
    next += strspn (next, blanks);
    char *equals = strchr (item, '=');
    if (!equals || equals == item) {
      g_autofree char *quoted = drmad_error_excerpt (item, DRMAD_ERROR_EXCERPT_CHARS);
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                   "\"%s\": expected KEY=VALUE items separated by blanks (e.g. init-l2=1e-4 lr/layer1/seg0=0.1)",
                   quoted);
      return NULL;
    }
    *equals = '\0';
    const char *key = item, *value = equals + 1;
    if (!g_hash_table_add (seen, (gpointer) key)) {
      g_autofree char *quoted = drmad_error_excerpt (key, DRMAD_ERROR_EXCERPT_CHARS);
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT, "%s is given twice: expected each key once",
                   quoted);
      return NULL;
    }
    if (g_strv_contains (drmad_options_start_keys (), key)) {
      if (!drmad_options_parse_start_value (&config, n_sizes - 1, key, value, error))
        return NULL;
      continue;
    }
    gsize index = GPOINTER_TO_SIZE (g_hash_table_lookup (index_of, key));
    if (!index) {
      set_unknown_key (error, key, names);
      return NULL;
    }
    if (!parse_entry_value (key, value, drmad_hyper_get_entry (names, index - 1).kind, &raw[index - 1], error))
      return NULL;
    set[index - 1] = TRUE;
  }

  g_autoptr (DrmadHyper) hyper = drmad_hyper_new_for_sizes (sizes, n_sizes, &config, error);
  if (!hyper)
    return NULL;
  g_autofree double *values = g_memdup2 (drmad_hyper_get_values (hyper), MAX (n, 1) * sizeof (double));
  for (gsize i = 0; i < n; i++)
    if (set[i])
      values[i] = raw[i];
  if (!drmad_hyper_set_values (hyper, values, error))
    return NULL;
  return g_steal_pointer (&hyper);
}

static const char *
fmt (char *buffer, double value, DrmadPrecision precision)
{
  return g_ascii_formatd (buffer, G_ASCII_DTOSTR_BUF_SIZE, precision == DRMAD_PRECISION_FLOAT64 ? "%.17g" : "%.9g",
                          value);
}

/* Trains @hyper from scratch and writes its result line; FALSE with @error
 * when the device failed. */
static gboolean
evaluate_one (const DrmadOptions *o, DrmadSession *s, DrmadHyper *hyper, FILE *out, GError **error)
{
  gint64 started = g_get_monotonic_time ();
  double train_loss = INFINITY, val_loss = INFINITY, val_error = 1, test_loss = INFINITY, test_error = 1;
  g_autoptr (GError) local = NULL;
  gboolean diverged = FALSE;
  if (!drmad_hyper_train (s->net, hyper, s->train, o->seed, NULL, NULL, &train_loss, &local)) {
    if (!g_error_matches (local, DRMAD_ERROR, DRMAD_ERROR_DIVERGED)) {
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
    diverged = TRUE;
    train_loss = INFINITY;
  } else if (!drmad_net_evaluate (s->net, s->val, &val_loss, &val_error, error)) {
    return FALSE;
  }
  gint64 test_started = g_get_monotonic_time ();
  if (!diverged && !drmad_net_evaluate (s->net, s->test, &test_loss, &test_error, error))
    return FALSE;
  gint64 finished = g_get_monotonic_time ();
  if (!diverged && !(isfinite (val_loss) && isfinite (test_loss))) {
    diverged = TRUE;   /* weights that overflowed without the training loss saying so */
    val_loss = test_loss = INFINITY;
    val_error = test_error = 1;
  }
  /* Every number with a decimal point, whatever the locale (seconds=0,012
   * would not read back as a number in the tuner). */
  char a[G_ASCII_DTOSTR_BUF_SIZE], b[G_ASCII_DTOSTR_BUF_SIZE], c[G_ASCII_DTOSTR_BUF_SIZE],
       d[G_ASCII_DTOSTR_BUF_SIZE], e[G_ASCII_DTOSTR_BUF_SIZE], f[G_ASCII_DTOSTR_BUF_SIZE],
       g[G_ASCII_DTOSTR_BUF_SIZE];
  fprintf (out, "val_loss=%s val_error=%s test_loss=%s test_error=%s train_loss=%s diverged=%d seconds=%s "
           "test_seconds=%s\n", fmt (a, val_loss, o->precision), fmt (b, val_error, o->precision),
           fmt (c, test_loss, o->precision), fmt (d, test_error, o->precision), fmt (e, train_loss, o->precision),
           diverged, g_ascii_formatd (f, sizeof f, "%.3f", (finished - started) / 1e6),
           g_ascii_formatd (g, sizeof g, "%.3f", (finished - test_started) / 1e6));
  return TRUE;
}

/* A stop signal ignored when the process started stays ignored (README:
 * a job started with & in a script, whose SIGINT the shell ignores; SIGHUP
 * under nohup). PoCL's LLVM puts its own handler over it as the device
 * opens (llvm::sys::RemoveFileOnSignal, for its temporary files), which on
 * the signal sets "ignored" back and returns: the read of the next line
 * then failed with EINTR, and the process ended with status 1, "cannot read
 * standard input after N lines: Interrupted system call". --evaluate,
 * unlike a run (catch_stop_signals in drmad-cli.c), installs no handler of
 * its own: the signals are ignored again once the device is open, and
 * after each line, where a kernel built for it may have put LLVM's back. */
static const int stop_signals[] = { SIGINT, SIGTERM, SIGHUP };

static guint
ignored_stop_signals (void)
{
  guint ignored = 0;
  for (guint i = 0; i < G_N_ELEMENTS (stop_signals); i++) {
    struct sigaction now;
    if (sigaction (stop_signals[i], NULL, &now) == 0 && now.sa_handler == SIG_IGN)
      ignored |= 1u << i;
  }
  return ignored;
}

static void
ignore_again (guint ignored)
{
  for (guint i = 0; i < G_N_ELEMENTS (stop_signals); i++)
    if (ignored & (1u << i))
      signal (stop_signals[i], SIG_IGN);
}

int
drmad_evaluate_main (const DrmadOptions *o, FILE *in, FILE *out, FILE *log)
{
  g_autoptr (GError) error = NULL;
  DrmadSession s = { 0 };
  guint ignored = ignored_stop_signals ();
  /* Every line evaluates on the test set: draw it now, once. */
  if (!drmad_session_open (&s, o, o->precision, &error) || !drmad_session_get_test (&s, &error)) {
    fprintf (log, "drmad: %s\n", error->message);
    drmad_session_clear (&s);
    return EXIT_BAD_INPUT;
  }
  guint sizes[DRMAD_HYPER_MAX_LAYERS + 1];
  guint n_sizes = drmad_net_get_n_layers (s.net) + 1;
  for (guint l = 0; l < n_sizes; l++)
    sizes[l] = drmad_net_get_size (s.net, l);
  g_autoptr (DrmadHyper) names = drmad_hyper_new_for_sizes (sizes, n_sizes, &o->hyper, &error);
  if (!names) {
    fprintf (log, "drmad: %s\n", error->message);
    drmad_session_clear (&s);
    return EXIT_BAD_INPUT;
  }
  g_autofree char *description = drmad_session_describe (&s, o->precision);
  gsize n = drmad_hyper_get_n (names);
  fprintf (log, "%s\nevaluate: one θ per line on standard input (init-l2, init-lr, init-momentum, init-scale", description);
  if (n)
    fprintf (log, ", and %" G_GSIZE_FORMAT " entr%s %s%s%s", n, n == 1 ? "y" : "ies", drmad_hyper_get_name (names, 0),
             n > 1 ? " … " : "", n > 1 ? drmad_hyper_get_name (names, n - 1) : "");
  fprintf (log, "), one result line each on standard output\n");
  fflush (log);
  ignore_again (ignored);

  int status = 0;
  char *line = NULL;
  size_t capacity = 0;
  ssize_t length;
  guint64 number;
  for (number = 1; (length = getline (&line, &capacity, in)) >= 0; number++) {
    g_clear_error (&error);
    if ((size_t) length != strlen (line)) {
      fprintf (out, "error: line %" G_GUINT64_FORMAT ": it holds a NUL byte: expected text\n", number);
      fflush (out);
      continue;
    }
    g_autoptr (DrmadHyper) hyper = drmad_evaluate_parse_line (o, sizes, n_sizes, line, &error);
    if (!hyper && !error)
      continue;   /* blank or a comment */
    if (!hyper) {
      fprintf (out, "error: line %" G_GUINT64_FORMAT ": %s\n", number, error->message);
    } else if (!evaluate_one (o, &s, hyper, out, &error)) {
      fprintf (out, "error: line %" G_GUINT64_FORMAT ": %s\n", number, error->message);
      fprintf (log, "drmad: line %" G_GUINT64_FORMAT ": %s\n", number, error->message);
      status = EXIT_FAILED;
    }
    if (fflush (out) != 0 || ferror (out)) {
      fprintf (log, "drmad: cannot write the results to standard output: %s\n", g_strerror (errno));
      status = EXIT_FAILED;
    }
    if (status)
      break;
    ignore_again (ignored);
  }
  /* A read error is not the end of the input: the tuner would take the
   * lines it got no answer for as never sent. */
  if (!status && ferror (in)) {
    fprintf (log, "drmad: cannot read standard input after %" G_GUINT64_FORMAT " line%s: %s\n", number - 1,
             number == 2 ? "" : "s", g_strerror (errno));
    status = EXIT_FAILED;
  }
  free (line);
  drmad_session_clear (&s);
  return status;
}
