/* The option table, config files and run.ini. */
#include "drmad-options.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef DrmadOptionSpec OptionSpec;

static const OptionSpec specs[] = {
  { "no-gui", NULL, NULL, "Run in the terminal, without a window", FALSE },
  { "list-devices", NULL, NULL, "List OpenCL platforms and devices, then exit", FALSE },
  { "check", NULL, NULL, "Compare exact hypergradients with finite differences and DrMAD/piecewise with exact, on a small configuration or the one given; exit status 1 when exact misses", FALSE },
  { "evaluate", NULL, NULL, "Read one θ per line on standard input (KEY=VALUE items: init-l2, init-lr, init-momentum, init-scale, and θ's entries by name, e.g. lr/layer2/seg0=0.2), train once for each with the other settings, and write one result line each (val_loss=… val_error=… test_loss=… test_error=…); the data are loaded once", FALSE },
  { "config", NULL, "FILE", "Read settings from FILE ([drmad] group, keys named as the long options); the command line overrides it", FALSE },
  { "out", NULL, "DIR", "Run folder to create (default: runs/DATE-TIME)", FALSE },
  { "resume", NULL, "DIR", "Continue the run in DIR from its checkpoint (--meta-iters, --device, --gemm, --fidelity-every and --patience may change; --dataset may name the same data in another place)", FALSE },
  { "force", NULL, NULL, "Overwrite an existing run folder", FALSE },
  { "version", NULL, NULL, "Print the version and exit", FALSE },
  { "shard-data", NULL, NULL, "Under mpirun or srun, each process trains on its own disjoint part of the training split (validation and test stay whole); alone, the one part is the whole split", FALSE },
  { "dataset", "fashion-mnist", "NAME|PATH", "A built-in name (fashion-mnist, mnist) or a folder: IDX files, CIFAR-10 batches, or one PNG subfolder per class", TRUE },
  { "train-size", "10000", "N", "Training examples; 0 = all not used for validation", TRUE },
  { "val-size", "5000", "N", "Validation examples (the meta-loss is their cross-entropy)", TRUE },
  { "test-size", "0", "N", "Test examples; 0 = the dataset's own test set", TRUE },
  { "layers", "784,100,100,10", "W,W,…", "Layer widths, input first, classes last", TRUE },
  { "activation", "relu", "relu|tanh|softsign", "Hidden units: ReLU, tanh, or softsign z/(1+|z|)", TRUE },
  { "batch", "100", "N", "Minibatch size", TRUE },
  { "iters", "500", "T", "Training steps per run", TRUE },
  { "meta-iters", "40", "N", "Meta-iterations; 0 trains once with the given values and reports validation and test loss", TRUE },
  { "patience", "0", "N", "Stop the meta-iterations early when the validation loss has not improved for N of them (the final evaluation runs as usual); 0 = never", TRUE },
  { "learn", "l2,lr", "LIST", "Hyperparameter groups to learn: any of l2, lr, momentum, init, or none", TRUE },
  { "l2-granularity", "layer", "layer|neuron|weight", "One L2 penalty per layer, per input unit of each layer, or per weight", TRUE },
  { "segments", "4", "S", "Segments of the learning-rate and momentum schedules", TRUE },
  { "init-l2", "1e-4", "C[,C…]", "Starting L2 coefficient from 1e-12 up to 100, one for all layers or one per layer", TRUE },
  { "init-lr", "0.1", "η[,η…]", "Starting learning rate from 1e-12 up to 100, one or one per layer", TRUE },
  { "init-momentum", "0.9", "γ[,γ…]", "Starting momentum from 1e-12 up to 1 − 1e-12, one or one per layer", TRUE },
  { "init-scale", "0", "S[,S…]", "Starting scale of the initial weights from 1e-12 up to 100, one or one per layer; 0 = 1/sqrt(fan_in)", TRUE },
  { "method", "auto", "auto|exact|piecewise|truncated|drmad", "Reverse pass: auto (exact when it fits --memory-budget, else piecewise with the most pieces that fit), exact (checkpointed), piecewise (K straight pieces), truncated (exact through the last R steps only: biased), drmad (R points on the straight line w_0 → w_T, as the authors' code: biased when R < T)", TRUE },
  { "snapshots", "16", "K", "Pieces of the piecewise method (1 = the full DrMAD line)", TRUE },
  { "checkpoint-every", "0", "k", "Checkpoint spacing of the exact and truncated methods; 0 = ceil(sqrt(T)) (truncated: ceil(sqrt(R))), 1 = store every step", TRUE },
  { "reverse-steps", "0", "R", "drmad: points reversed along the line (T = the full line of the paper); truncated: steps reversed; 0 = ceil(T/10)", TRUE },
  { "memory-budget", "0", "BYTES", "Device memory the reverse pass may use when --method auto chooses (e.g. 512M, 512MiB, 4G: powers of 1024); 0 = half the device's free memory; a budget past the device's free memory counts as that; on a CPU device the free memory is at most what this process may still take (MemAvailable, or the room under its cgroup's memory limit)", TRUE },
  { "fidelity-every", "10", "N", "Measure the method against a more faithful one (exact where it fits) at meta-iteration 1 and every N after; 0 = never", TRUE },
  { "meta-optimizer", "adam", "adam|sgd|sign", "Meta-optimiser on the raw hyperparameters", TRUE },
  { "meta-lr", "0.15", "R", "Meta learning rate (a step on log / logit scale)", TRUE },
  { "meta-momentum", "0.9", "M", "Momentum of the sgd meta-optimiser", TRUE },
  { "clip", "0", "C", "Clip each hypergradient component to ±C; 0 = off", TRUE },
  { "divergence-factor", "2", "F", "Reject a meta-step whose validation loss exceeds F × the best so far (1: any step that does not improve on it, backtracking)", TRUE },
  { "meta-lr-growth", "1", "G", "After a meta-iteration that lowers the best validation loss, multiply the meta learning rate by G (a rejected one halves it; with --divergence-factor 1, the bold driver); 1 = constant", TRUE },
  { "warm-start", "0", "N", "Before the first meta-iteration, try N factors per group (L2 ×1/100…100, learning rates and initial scales ×1/10…10, momenta ±2 in logit), one group after another, and start from the best; 0 = off", TRUE },
  { "seed", "1", "N", "Seed for the split, the initial weights and the minibatches", TRUE },
  { "device", "", "N|SUBSTRING", "OpenCL device: a number from --list-devices or part of its name; empty = $DRMAD_DEVICE, else the first GPU, else the first CPU", TRUE },
  { "gemm", "auto", "auto|clblast|host", "Matrix products: CLBlast, or OpenBLAS in a native kernel (CPU devices); auto picks host on CPUs", TRUE },
  { "precision", "float32", "float32|float64", "Arithmetic on the device; float64 needs cl_khr_fp64", TRUE },
};

static const char *const resume_may_change[] = { "meta-iters", "device", "gemm", "fidelity-every", "patience", NULL };

static const OptionSpec *
find_spec (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (specs); i++)
    if (g_str_equal (specs[i].name, name))
      return &specs[i];
  return NULL;
}

static gboolean
store_option (const char *option_name, const char *value, gpointer data, GError **error)
{
  GHashTable *cli = data;
  const char *name = option_name + (g_str_has_prefix (option_name, "--") ? 2 : 1);
  g_hash_table_replace (cli, g_strdup (name), g_strdup (value ? value : "true"));
  return TRUE;
}

const char *const *
drmad_options_resume_may_change (void)
{
  return resume_may_change;
}

/* The one reader of run.ini and settings files: the [drmad] group as
 * key → value. */
static GHashTable *
read_key_file (GKeyFile *file, const char *path, gboolean strict, GError **error)
{
  if (!g_key_file_has_group (file, "drmad")) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                 "%s has no [drmad] group: settings go under [drmad], one key per long option", path);
    return NULL;
  }
  g_autoptr (GHashTable) values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_auto (GStrv) keys = g_key_file_get_keys (file, "drmad", NULL, NULL);
  for (char **key = keys; *key; key++) {
    const OptionSpec *spec = find_spec (*key);
    if (!spec || !spec->in_ini) {
      if (!strict)
        continue;
      g_autofree char *quoted = drmad_error_excerpt (*key, DRMAD_ERROR_EXCERPT_CHARS);
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                   "%s: unknown setting \"%s\" (settings are named as the long options, see drmad --help)",
                   path, quoted);
      return NULL;
    }
    GError *local = NULL;
    g_autofree char *value = g_key_file_get_string (file, "drmad", *key, &local);
    if (!value) {
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT, "%s: the value of \"%s\" cannot be read: %s",
                   path, *key, local->message);
      g_error_free (local);
      return NULL;
    }
    g_hash_table_replace (values, g_strdup (*key), g_strdup (g_strstrip (value)));
  }
  return g_steal_pointer (&values);
}

/* GKeyFile keeps the last of a key given twice in a group (also across two
 * [drmad] headers) without a word: a settings file that sets one twice is
 * refused, naming both lines, since either value may be the one meant.
 * Lines as GKeyFile reads them: '#' comments, [group] headers, and
 * key=value with the key's surrounding blanks dropped. */
static gboolean
check_repeated_keys (const char *text, gsize length, const char *path, GError **error)
{
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GHashTable) first_values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  gboolean in_drmad = FALSE;
  guint line_number = 0;
  for (const char *line = text, *end = text + length; line < end;) {
    const char *newline = memchr (line, '\n', end - line);
    const char *stop = newline ? newline : end;
    line_number++;
    while (line < stop && g_ascii_isspace (*line))
      line++;
    const char *equals = memchr (line, '=', stop - line);
    if (line < stop && *line == '[')
      in_drmad = stop - line >= 7 && memcmp (line, "[drmad]", 7) == 0;
    else if (in_drmad && line < stop && *line != '#' && *line != '\0' && equals) {
      const char *key_end = equals;
      while (key_end > line && g_ascii_isspace (key_end[-1]))
        key_end--;
      g_autofree char *key = g_strndup (line, key_end - line);
      if (strchr (key, '[')) {
        /* A translation, key[LOCALE]: GKeyFile keeps it only under that
         * locale, so it is refused in every locale rather than in some. */
        g_autofree char *quoted = drmad_error_excerpt (key, DRMAD_ERROR_EXCERPT_CHARS);
        g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                     "%s, line %u: \"%s\" is a translated key: settings have none, write the key alone", path,
                     line_number, quoted);
        return FALSE;
      }
      /* the value as written, blanks around it dropped as read_key_file drops them */
      g_autofree char *value = g_strstrip (g_strndup (equals + 1, stop - equals - 1));
      guint first = GPOINTER_TO_UINT (g_hash_table_lookup (seen, key));
      if (first) {
        g_autofree char *quoted = drmad_error_excerpt (key, DRMAD_ERROR_EXCERPT_CHARS);
        g_autofree char *quoted_first = drmad_error_excerpt (g_hash_table_lookup (first_values, key),
                                                             DRMAD_ERROR_EXCERPT_CHARS);
        g_autofree char *quoted_second = drmad_error_excerpt (value, DRMAD_ERROR_EXCERPT_CHARS);
        g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                     "%s: \"%s\" is set twice, on lines %u and %u (\"%s\" and \"%s\"): keep the one you mean", path,
                     quoted, first, line_number, quoted_first, quoted_second);
        return FALSE;
      }
      g_hash_table_insert (first_values, g_strdup (key), g_steal_pointer (&value));
      g_hash_table_insert (seen, g_steal_pointer (&key), GUINT_TO_POINTER (line_number));
    }
    line = newline ? newline + 1 : end;
  }
  return TRUE;
}

GHashTable *
drmad_options_read_ini (const char *text, gsize length, const char *path, gboolean strict, GError **error)
{
  g_autoptr (GKeyFile) file = g_key_file_new ();
  GError *local = NULL;
  g_autofree char *contents = NULL;
  if (!text && drmad_read_regular_file (path, "settings file", &contents, &length, &local))
    text = contents;
  else if (text && length == (gsize) -1)
    length = strlen (text);
  gboolean loaded = text && g_key_file_load_from_data (file, text, length, G_KEY_FILE_NONE, &local);
  if (loaded && !check_repeated_keys (text, length, path, error))
    return NULL;
  if (!loaded) {
    /* GLib's message quotes the line at fault, which may be binary or huge;
     * drmad_read_regular_file's names the file already */
    g_autofree char *reason = text ? drmad_error_excerpt (local->message, 4 * DRMAD_ERROR_EXCERPT_CHARS) : NULL;
    g_autofree char *message = text ? g_strdup_printf ("cannot read the settings file %s: %s", path, reason)
                                    : g_strdup (local->message);
    g_set_error (error, DRMAD_ERROR, g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT)
                 ? DRMAD_ERROR_NOT_FOUND : DRMAD_ERROR_INVALID_ARGUMENT, "%s", message);
    g_error_free (local);
    return NULL;
  }
  return read_key_file (file, path, strict, error);
}

char *
drmad_options_new_run_folder (const char *base)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *stamp = g_date_time_format (now, "%Y%m%d-%H%M%S");
  g_autofree char *first = g_build_filename (base, stamp, NULL);
  char *folder = g_strdup (first);
  for (guint n = 2; g_file_test (folder, G_FILE_TEST_EXISTS); n++) {
    g_free (folder);
    folder = g_strdup_printf ("%s-%u", first, n);
  }
  return folder;
}

static void
merge_into (GHashTable *into, GHashTable *from)
{
  GHashTableIter iter;
  gpointer key, value;
  g_hash_table_iter_init (&iter, from);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_hash_table_replace (into, g_strdup (key), g_strdup (value));
}

/* A bad value named as the option (--init-l2 abc) or, @as_key, as a key of
 * a drmad --evaluate line (init-l2=abc). */
static gboolean
bad_value_as (GError **error, gboolean as_key, const char *name, const char *value, const char *expected)
{
  g_autofree char *quoted = drmad_error_excerpt (value, DRMAD_ERROR_EXCERPT_CHARS);
  g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT, as_key ? "%s=%s: expected %s" : "--%s %s: expected %s",
               name, quoted, expected);
  return FALSE;
}

static gboolean
bad_value (GError **error, const char *name, const char *value, const char *expected)
{
  return bad_value_as (error, FALSE, name, value, expected);
}

/* @ok, or a refusal of the setting @key: where its value came from a
 * settings file, the message names that file first. Decided by where each
 * value came from (o->from_file), not by what the message holds: a typed
 * value may itself read like an option (--activation '--iters'). */
static gboolean
in_file (const DrmadOptions *o, const char *key, gboolean ok, GError **error)
{
  const char *path = ok || !o->from_file ? NULL : g_hash_table_lookup (o->from_file, key);
  if (path)
    g_prefix_error (error, "in %s: ", path);
  return ok;
}

static gboolean
parse_unsigned (const DrmadOptions *o, const char *name, guint64 min, guint64 max, guint64 *out, GError **error)
{
  const char *value = g_hash_table_lookup (o->values, name);
  /* blanks around it, as numbers take them (the window's seed field showed
   * "--seed 5 : expected a whole number" for a 5 pasted with a blank) */
  g_autofree char *stripped = g_strstrip (g_strdup (value));
  if (!g_ascii_string_to_unsigned (stripped, 10, min, max, out, NULL)) {
    g_autofree char *expected = g_strdup_printf ("a whole number from %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT, min, max);
    return in_file (o, name, bad_value (error, name, value, expected), error);
  }
  return TRUE;
}

static gboolean
parse_uint (const DrmadOptions *o, const char *name, guint min, guint max, guint *out, GError **error)
{
  guint64 wide;
  if (!parse_unsigned (o, name, min, max, &wide, error))
    return FALSE;
  *out = wide;
  return TRUE;
}

static gboolean
parse_number (const char *name, const char *text, gboolean as_key, double low, double high, gboolean open_low,
              gboolean open_high, double *out, GError **error)
{
  char *end;
  double value = g_ascii_strtod (text, &end);
  while (g_ascii_isspace (*end))
    end++;
  if (end == text || *end != '\0' || !isfinite (value) || (open_high ? value >= high : value > high)
      || (open_low ? value <= low : value < low)) {
    g_autofree char *upper = !isfinite (high) ? g_strdup ("")
                             : g_strdup_printf (open_high ? " and below %.13g" : " up to %.13g", high);
    /* 0,15 as a locale with a decimal comma writes it (settings.ini by hand);
     * only one comma (0,1,5 is no number either way), and the text tried
     * again has none, so that this branch is not entered twice. */
    g_autofree char *pointed = g_strdup (text);
    char *comma = strchr (pointed, ',');
    if (comma && !strchr (comma + 1, ','))
      *comma = '.';
    else
      comma = NULL;
    double unused;
    g_autofree char *hint = comma && parse_number (name, pointed, as_key, low, high, open_low, open_high, &unused, NULL)
                            ? g_strdup_printf (", written with a decimal point (%s)", pointed) : g_strdup ("");
    /* inf is "from 1" too: a range with no upper bound names finiteness */
    g_autofree char *expected = g_strdup_printf ("a %snumber %s %.13g%s%s", isfinite (high) ? "" : "finite ",
                                                 open_low ? "above" : "from", low, upper, hint);
    return bad_value_as (error, as_key, name, text, expected);
  }
  *out = value;
  return TRUE;
}

static gboolean
parse_double (const DrmadOptions *o, const char *name, double low, double high, gboolean open_low, double *out,
              GError **error)
{
  return in_file (o, name, parse_number (name, g_hash_table_lookup (o->values, name), FALSE, low, high, open_low, FALSE,
                                         out, error), error);
}

/* A size in bytes: a number with an optional K, M, G or T (powers of 1024),
 * then optionally i and B (512M, 512MB, 512MiB alike). */
static gboolean
parse_bytes (const DrmadOptions *o, const char *name, guint64 *out, GError **error)
{
  const char *value = g_hash_table_lookup (o->values, name);
  char *end;
  double number = g_ascii_strtod (value, &end);
  static const char units[] = "KMGT";
  const char *unit = *end ? strchr (units, g_ascii_toupper (*end)) : NULL;
  double scale = unit ? pow (1024, unit - units + 1) : 1;
  if (unit) {
    end++;
    if (*end == 'i')   /* 512MiB, as the sizes are written back */
      end++;
  }
  if (*end == 'B' || *end == 'b')
    end++;
  if (end == value || *end != '\0' || !isfinite (number) || number < 0 || number * scale > 1e18)
    return in_file (o, name, bad_value (error, name, value,
                                        "a size in bytes, e.g. 512M, 512MiB or 4G (K, M, G, T: powers of 1024)"),
                    error);
  *out = (guint64) (number * scale);
  return TRUE;
}

/* A starting value in [@low, @high], or with @zero_ok also 0 (an initial
 * scale of 1/sqrt(fan_in)). */
static gboolean
parse_start_number (const char *name, const char *text, gboolean as_key, double low, double high, gboolean zero_ok,
                    double *out, GError **error)
{
  if (!zero_ok)
    return parse_number (name, text, as_key, low, high, FALSE, FALSE, out, error);
  if (parse_number (name, text, as_key, 0, 0, FALSE, FALSE, out, NULL)
      || parse_number (name, text, as_key, low, high, FALSE, FALSE, out, NULL))
    return TRUE;
  g_autofree char *expected = g_strdup_printf ("0 (= 1/sqrt(fan_in)) or a number from %.13g up to %.13g", low, high);
  return bad_value_as (error, as_key, name, text, expected);
}

/* One value for every layer, or one per layer: @value of the setting @name. */
static gboolean
parse_per_layer_text (const char *name, const char *value, gboolean as_key, guint n_layers, double low, double high,
                      gboolean zero_ok, double *out, GError **error)
{
  g_auto (GStrv) parts = g_strsplit (value, ",", -1);
  guint n = g_strv_length (parts);
  if (n == 0)   /* an empty value: no number, not a wrong count of them */
    return parse_start_number (name, value, as_key, low, high, zero_ok, &out[0], error);
  if (n != 1 && n != n_layers) {
    g_autofree char *expected = n_layers == 1 ? g_strdup ("one value (the network has one weight layer)")
                                : g_strdup_printf ("one value, or %u (one per weight layer)", n_layers);
    return bad_value_as (error, as_key, name, value, expected);
  }
  for (guint l = 0; l < n_layers; l++) {
    g_autoptr (GError) local = NULL;
    const char *item = g_strstrip (parts[n == 1 ? 0 : l]);
    if (parse_start_number (name, item, as_key, low, high, zero_ok, &out[l], &local))
      continue;
    if (n == 1) {
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
    /* Several items: show the whole value, and which item is wrong (an
     * empty one shows nothing by itself: "--init-lr 0.1,"). */
    const char *expected = strstr (local->message, ": expected ");
    g_autofree char *quoted_item = drmad_error_excerpt (item, DRMAD_ERROR_EXCERPT_CHARS);
    g_autofree char *quoted = drmad_error_excerpt (value, DRMAD_ERROR_EXCERPT_CHARS);
    g_autofree char *which = *item ? g_strdup_printf ("item %u of %u (%s)", l + 1, n, quoted_item)
                                   : g_strdup_printf ("item %u of %u is empty", l + 1, n);
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT, as_key ? "%s=%s: %s%s" : "--%s %s: %s%s", name,
                 quoted, which, expected ? expected : ": expected a number");
    return FALSE;
  }
  return TRUE;
}

/* The settings that give θ its starting values, one per weight layer, with
 * the bounds past which training cannot work (it overflows, or never moves). */
static const struct {
  const char *name;
  double      low, high;   /* both included */
  gboolean    zero_ok;     /* 0 too: 1/sqrt(fan_in) */
  gsize       offset;      /* of the per-layer array in DrmadHyperConfig */
} start_specs[] = {
  { "init-l2", DRMAD_HYPER_RATE_MIN, DRMAD_HYPER_RATE_MAX, FALSE, G_STRUCT_OFFSET (DrmadHyperConfig, init_l2) },
  { "init-lr", DRMAD_HYPER_RATE_MIN, DRMAD_HYPER_RATE_MAX, FALSE, G_STRUCT_OFFSET (DrmadHyperConfig, init_lr) },
  { "init-momentum", DRMAD_HYPER_MOMENTUM_MIN, 1 - DRMAD_HYPER_MOMENTUM_MIN, FALSE,
    G_STRUCT_OFFSET (DrmadHyperConfig, init_momentum) },
  { "init-scale", DRMAD_HYPER_SCALE_MIN, DRMAD_HYPER_SCALE_MAX, TRUE, G_STRUCT_OFFSET (DrmadHyperConfig, init_scale) },
};
static const char *const start_keys[] = { "init-l2", "init-lr", "init-momentum", "init-scale", NULL };

const char *const *
drmad_options_start_keys (void)
{
  return start_keys;
}

static gboolean
parse_start_value (DrmadHyperConfig *hyper, guint n_layers, const char *key, const char *value, gboolean as_key,
                   GError **error)
{
  for (guint i = 0; i < G_N_ELEMENTS (start_specs); i++) {
    if (!g_str_equal (start_specs[i].name, key))
      continue;
    double parsed[DRMAD_HYPER_MAX_LAYERS];
    if (!parse_per_layer_text (key, value, as_key, n_layers, start_specs[i].low, start_specs[i].high,
                               start_specs[i].zero_ok, parsed, error))
      return FALSE;
    memcpy (G_STRUCT_MEMBER_P (hyper, start_specs[i].offset), parsed, n_layers * sizeof (double));
    return TRUE;
  }
  g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT, "%s is not a setting of θ's starting values (%s, %s, %s or %s)",
               key, start_keys[0], start_keys[1], start_keys[2], start_keys[3]);
  return FALSE;
}

gboolean
drmad_options_parse_start_value (DrmadHyperConfig *hyper, guint n_layers, const char *key, const char *value,
                                 GError **error)
{
  return parse_start_value (hyper, n_layers, key, value, TRUE, error);
}

static gboolean
parse_layers (DrmadOptions *o, GError **error)
{
  const char *value = g_hash_table_lookup (o->values, "layers");
  g_auto (GStrv) parts = g_strsplit (value, ",", -1);
  o->n_sizes = 0;
  for (char **part = parts; *part; part++) {
    guint64 width;
    if (o->n_sizes > DRMAD_HYPER_MAX_LAYERS
        || !g_ascii_string_to_unsigned (g_strstrip (*part), 10, 1, 1u << 24, &width, NULL))
      return in_file (o, "layers", bad_value (error, "layers", value, "2 to 17 widths of 1 to 16777216, input first, "
                                              "classes last, e.g. 784,100,10"), error);
    o->sizes[o->n_sizes++] = width;
  }
  if (o->n_sizes < 2)
    return in_file (o, "layers", bad_value (error, "layers", value, "at least the input and output widths, e.g. 784,100,10"),
                    error);
  return TRUE;
}

static gboolean
parse_learn (DrmadOptions *o, GError **error)
{
  const char *value = g_hash_table_lookup (o->values, "learn");
  const char *granularity = g_hash_table_lookup (o->values, "l2-granularity");
  DrmadHyperConfig *h = &o->hyper;
  gboolean l2 = FALSE, none = FALSE;
  h->learn_lr = h->learn_momentum = h->learn_init_scale = FALSE;
  g_auto (GStrv) parts = g_strsplit (value, ",", -1);
  for (char **part = parts; *part; part++) {
    const char *group = g_strstrip (*part);
    if (g_str_equal (group, "l2")) l2 = TRUE;
    else if (g_str_equal (group, "lr")) h->learn_lr = TRUE;
    else if (g_str_equal (group, "momentum")) h->learn_momentum = TRUE;
    else if (g_str_equal (group, "init")) h->learn_init_scale = TRUE;
    else if (g_str_equal (group, "none")) none = TRUE;
    else if (*group)
      return in_file (o, "learn", bad_value (error, "learn", value,
                                             "a comma-separated list of l2, lr, momentum, init (or none)"), error);
  }
  if (none && (l2 || h->learn_lr || h->learn_momentum || h->learn_init_scale))
    return in_file (o, "learn", bad_value (error, "learn", value, "none alone, or groups to learn without none"), error);
  if (g_str_equal (granularity, "layer")) h->l2 = DRMAD_L2_PER_LAYER;
  else if (g_str_equal (granularity, "neuron")) h->l2 = DRMAD_L2_PER_NEURON;
  else if (g_str_equal (granularity, "weight")) h->l2 = DRMAD_L2_PER_WEIGHT;
  else return in_file (o, "l2-granularity", bad_value (error, "l2-granularity", granularity, "layer, neuron or weight"),
                       error);
  if (!l2)
    h->l2 = DRMAD_L2_FIXED;
  return TRUE;
}

/* The library's names of an enum (activation, method, meta-optimizer, gemm)
 * say the value and what is expected, not the option: its name first, as
 * bad_value() has it, and the settings file it came from (fuzz-run-ini found
 * "unknown GEMM path \"\"" with neither, docs/reliability.md). */
static gboolean
named_option (const DrmadOptions *o, gboolean ok, const char *name, GError **error)
{
  if (!ok)
    g_prefix_error (error, "--%s: ", name);
  return in_file (o, name, ok, error);
}

static gboolean
convert (DrmadOptions *o, GError **error)
{
  GHashTable *v = o->values;
  guint64 T;
  if (!parse_layers (o, error)
      || !parse_uint (o, "train-size", 0, G_MAXINT, &o->train_size, error)
      || !parse_uint (o, "val-size", 1, G_MAXINT, &o->val_size, error)
      || !parse_uint (o, "test-size", 0, G_MAXINT, &o->test_size, error)
      || !parse_uint (o, "batch", 1, 1u << 20, &o->batch, error)
      || !parse_unsigned (o, "iters", 1, 100000000, &T, error)
      || !parse_unsigned (o, "meta-iters", 0, 1000000, &o->meta_iters, error)
      || !parse_uint (o, "patience", 0, 1000000, &o->patience, error)
      || !parse_unsigned (o, "seed", 0, G_MAXUINT64, &o->seed, error)
      || !parse_uint (o, "segments", 1, 100000, &o->hyper.segments, error)
      || !parse_uint (o, "snapshots", 1, G_MAXINT, &o->reverse.snapshots, error)
      || !parse_uint (o, "checkpoint-every", 0, G_MAXINT, &o->reverse.checkpoint_every, error)
      || !parse_unsigned (o, "reverse-steps", 0, 100000000, &o->reverse.reverse_steps, error)
      || !parse_bytes (o, "memory-budget", &o->reverse.memory_budget, error)
      || !parse_uint (o, "fidelity-every", 0, 1000000, &o->meta.fidelity_every, error)
      || !named_option (o, drmad_activation_from_name (g_hash_table_lookup (v, "activation"), &o->activation, error),
                        "activation", error)
      || !named_option (o, drmad_method_from_name (g_hash_table_lookup (v, "method"), &o->reverse.method, error),
                        "method", error)
      || !named_option (o, drmad_meta_algorithm_from_name (g_hash_table_lookup (v, "meta-optimizer"),
                                                           &o->meta.algorithm, error), "meta-optimizer", error)
      || !named_option (o, drmad_gemm_path_from_name (g_hash_table_lookup (v, "gemm"), &o->gemm, error), "gemm",
                        error)
      || !parse_learn (o, error))
    return FALSE;
  guint n_layers = o->n_sizes - 1;
  o->hyper.steps = T;
  o->reverse.seed = o->seed;
  /* Bounds past which training cannot work (it overflows, or never moves): refused here, naming the option. */
  for (guint i = 0; i < G_N_ELEMENTS (start_specs); i++)
    if (!in_file (o, start_specs[i].name,
                  parse_start_value (&o->hyper, n_layers, start_specs[i].name,
                                     g_hash_table_lookup (v, start_specs[i].name), FALSE, error), error))
      return FALSE;
  if (!parse_double (o, "meta-lr", 0, INFINITY, TRUE, &o->meta.learning_rate, error)
      || !parse_double (o, "meta-momentum", 0, 0.999999, FALSE, &o->meta.momentum, error)
      || !parse_double (o, "clip", 0, INFINITY, FALSE, &o->meta.clip, error)
      || !parse_double (o, "divergence-factor", 1, INFINITY, FALSE, &o->meta.divergence_factor, error)
      || !parse_double (o, "meta-lr-growth", 1, 100, FALSE, &o->meta.learning_rate_growth, error)
      || !parse_uint (o, "warm-start", 0, 1000, &o->warm_start, error))
    return FALSE;
  if (o->hyper.segments > T) {
    g_autofree char *expected = g_strdup_printf ("at most as many segments as training steps (--iters %" G_GUINT64_FORMAT
                                                 ")", T);
    /* the file's too where only --iters came from it: the message quotes that value */
    return in_file (o, o->from_file && g_hash_table_contains (o->from_file, "segments") ? "segments" : "iters",
                    bad_value (error, "segments", g_hash_table_lookup (v, "segments"), expected), error);
  }
  const char *precision = g_hash_table_lookup (v, "precision");
  if (g_str_equal (precision, "float32")) o->precision = DRMAD_PRECISION_FLOAT32;
  else if (g_str_equal (precision, "float64")) o->precision = DRMAD_PRECISION_FLOAT64;
  else return in_file (o, "precision", bad_value (error, "precision", precision, "float32 or float64"), error);
  o->dataset = g_strdup (g_hash_table_lookup (v, "dataset"));
  o->device = g_strdup (g_hash_table_lookup (v, "device"));
  return TRUE;
}

/* A --dataset that names a path (not an installed built-in or
 * $DRMAD_DATA_DIR name, which drmad_dataset_open() looks up first) becomes
 * absolute, so that run.ini names the same data from any folder (--resume,
 * --config). */
static char *
dataset_as_saved (const char *dataset)
{
  if (!dataset || !*dataset || g_path_is_absolute (dataset) || !g_file_test (dataset, G_FILE_TEST_EXISTS))
    return g_strdup (dataset);
  g_auto (GStrv) installed = drmad_dataset_list_builtin ();
  if (!strchr (dataset, G_DIR_SEPARATOR) && g_strv_contains ((const char *const *) installed, dataset))
    return g_strdup (dataset);
  return g_canonicalize_filename (dataset, NULL);
}

static void
absolute_dataset (GHashTable *values)
{
  const char *dataset = g_hash_table_lookup (values, "dataset");
  if (dataset)
    g_hash_table_replace (values, g_strdup ("dataset"), dataset_as_saved (dataset));
}

/* Whether @a and @b, two spellings of setting @key, say the same: item by
 * item (comma-separated), numbers by value (1e-4 and 0.0001), and the groups
 * of --learn in any order. */
static gboolean
same_setting (const char *key, const char *a, const char *b)
{
  if (!a || !b)
    return FALSE;
  if (g_str_equal (a, b))
    return TRUE;
  g_auto (GStrv) items_a = g_strsplit (a, ",", -1);
  g_auto (GStrv) items_b = g_strsplit (b, ",", -1);
  guint n = g_strv_length (items_a);
  if (g_str_equal (key, "learn")) {
    /* as parse_learn() reads it: the set of the groups named, whatever their
     * order, a group named twice or an empty item (lr,l2,lr is l2,lr) */
    g_autoptr (GHashTable) set_a = g_hash_table_new (g_str_hash, g_str_equal);
    g_autoptr (GHashTable) set_b = g_hash_table_new (g_str_hash, g_str_equal);
    for (char **item = items_a; *item; item++)
      if (*g_strstrip (*item))
        g_hash_table_add (set_a, *item);
    for (char **item = items_b; *item; item++)
      if (*g_strstrip (*item))
        g_hash_table_add (set_b, *item);
    if (g_hash_table_size (set_a) != g_hash_table_size (set_b))
      return FALSE;
    GHashTableIter iter;
    gpointer group;
    g_hash_table_iter_init (&iter, set_a);
    while (g_hash_table_iter_next (&iter, &group, NULL))
      if (!g_hash_table_contains (set_b, group))
        return FALSE;
    return TRUE;
  }
  if (n != g_strv_length (items_b))
    return FALSE;
  for (guint i = 0; i < n; i++) {
    char *end_a, *end_b;
    guint64 i_a = g_ascii_strtoull (items_a[i], &end_a, 10), i_b = g_ascii_strtoull (items_b[i], &end_b, 10);
    if (end_a != items_a[i] && end_b != items_b[i] && *end_a == '\0' && *end_b == '\0') {
      if (i_a != i_b)   /* whole numbers (--seed) exactly, not as doubles */
        return FALSE;
      continue;
    }
    double x = g_ascii_strtod (items_a[i], &end_a), y = g_ascii_strtod (items_b[i], &end_b);
    gboolean numbers = end_a != items_a[i] && end_b != items_b[i] && *end_a == '\0' && *end_b == '\0';
    if (numbers ? !(x == y && isfinite (x)) : !g_str_equal (g_strstrip (items_a[i]), g_strstrip (items_b[i])))
      return FALSE;
  }
  return TRUE;
}

/* o->values: the defaults, then each of @layers in turn; o->given: every key a layer set. */
static void
merge_values (DrmadOptions *o, GHashTable *const *layers, guint n_layers)
{
  o->values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  o->given = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (specs); i++)
    if (specs[i].default_value)
      g_hash_table_replace (o->values, g_strdup (specs[i].name), g_strdup (specs[i].default_value));
  for (guint k = 0; k < n_layers; k++) {
    GHashTableIter iter;
    gpointer key, value;
    g_hash_table_iter_init (&iter, layers[k]);
    while (g_hash_table_iter_next (&iter, &key, &value)) {
      g_hash_table_replace (o->values, g_strdup (key), g_strdup (value));
      g_hash_table_add (o->given, g_strdup (key));
    }
  }
}

/* The keys of @file (read from the settings file @path) that @typed does
 * not set, as o->from_file has them. */
static void
note_file (DrmadOptions *o, GHashTable *file, GHashTable *typed, const char *path)
{
  o->from_file = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  GHashTableIter iter;
  gpointer key;
  g_hash_table_iter_init (&iter, file);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    if (!typed || !g_hash_table_contains (typed, key))
      g_hash_table_insert (o->from_file, g_strdup (key), g_strdup (path));
}

/* The first help option of a command line parsed with help_deferred: what
 * GOption would have printed, there and then. */
typedef struct {
  gboolean help;   /* -h, -?, --help or --help-all was given */
  gboolean all;    /* the first of them was --help-all */
} HelpAsked;

static gboolean
note_help (const char *option_name, const char *value, gpointer data, GError **error)
{
  HelpAsked *asked = data;
  if (!asked->help)
    asked->all = g_str_equal (option_name, "--help-all");
  asked->help = TRUE;
  return TRUE;
}

#define HELP_FLAGS (G_OPTION_FLAG_HIDDEN | G_OPTION_FLAG_NO_ARG | G_OPTION_FLAG_NOALIAS)

/* The next option of @argv (@argc of them) after argv[*@at], in the place
 * GOption reads it: the value of each option that takes one is passed over
 * as GOption takes it, whatever it looks like ("--out --help" names a
 * folder). Sets *@at to its index and *@spec to its row of the table (NULL
 * for a short option or one drmad does not know); FALSE at "--" or the
 * end. Start with *@at = 0. */
static gboolean
next_option (int argc, char **argv, int *at, const OptionSpec **spec)
{
  int i = *at;
  if (i > 0 && *spec && (*spec)->arg && !strchr (argv[i], '='))
    i++;   /* the value of the option before */
  for (i++; i < argc; i++) {
    const char *arg = argv[i];
    if (g_str_equal (arg, "--"))
      return FALSE;
    if (arg[0] != '-' || arg[1] == '\0')
      continue;
    *at = i;
    *spec = NULL;
    if (g_str_has_prefix (arg, "--")) {
      const char *name = arg + 2;
      gsize length = strcspn (name, "=");
      for (guint k = 0; k < G_N_ELEMENTS (specs); k++)
        if (strlen (specs[k].name) == length && strncmp (specs[k].name, name, length) == 0)
          *spec = &specs[k];
    }
    return TRUE;
  }
  return FALSE;
}

/* Whether the long option @arg is --@name, alone or with "=VALUE". */
static gboolean
is_long_option (const char *arg, const char *name)
{
  gsize length = strlen (name);
  return g_str_has_prefix (arg, "--") && strncmp (arg + 2, name, length) == 0
         && (arg[2 + length] == '\0' || arg[2 + length] == '=');
}

/* The first help option of @argv (@argc of them), read as next_option()
 * reads: "-h", "-?" (alone or among other letters), "--help",
 * "--help-all", or one of those two with "=VALUE"; NULL where none. */
static const char *
first_help_option (int argc, char **argv)
{
  int at = 0;
  const OptionSpec *spec = NULL;
  while (next_option (argc, argv, &at, &spec)) {
    const char *arg = argv[at];
    if (g_str_has_prefix (arg, "--") ? is_long_option (arg, "help") || is_long_option (arg, "help-all")
                                     : strchr (arg + 1, 'h') || strchr (arg + 1, '?'))
      return arg;
  }
  return NULL;
}

/* The first "--FLAG=VALUE" of @argv (@argc of them) where FLAG takes no
 * value, read as next_option() reads: GOption (2.74) takes it for --FLAG
 * and drops the value, so "--force=no" forced and "--no-gui=0" ran without
 * the window. NULL where none. */
static const char *
first_flag_with_value (int argc, char **argv)
{
  int at = 0;
  const OptionSpec *spec = NULL;
  while (next_option (argc, argv, &at, &spec))
    if (spec && !spec->arg && strchr (argv[at], '='))
      return argv[at];
  return NULL;
}

gboolean
drmad_options_want_terminal (int argc, char **argv)
{
  static const char *const terminal[] = { "no-gui", "list-devices", "check", "evaluate", "version" };
  int at = 0;
  const OptionSpec *spec = NULL;
  if (first_help_option (argc, argv))
    return TRUE;
  while (next_option (argc, argv, &at, &spec)) {
    if (g_str_has_prefix (argv[at], "--help-"))   /* GOption's help of a group, or a mistyped one: said there */
      return TRUE;
    for (guint k = 0; spec && k < G_N_ELEMENTS (terminal); k++)
      if (g_str_equal (spec->name, terminal[k]))
        return TRUE;
  }
  return FALSE;
}

/* The parser of the command line, storing into @cli. */
static GOptionContext *
options_context (GHashTable *cli, GPtrArray *descriptions)
{
  GOptionEntry entries[G_N_ELEMENTS (specs) + 1];
  for (guint i = 0; i < G_N_ELEMENTS (specs); i++) {
    const OptionSpec *s = &specs[i];
    char *description = s->default_value && *s->default_value
                        ? g_strdup_printf ("%s (default: %s)", s->help, s->default_value) : g_strdup (s->help);
    g_ptr_array_add (descriptions, description);
    entries[i] = (GOptionEntry) { s->name, 0, s->arg ? 0 : G_OPTION_FLAG_NO_ARG, G_OPTION_ARG_CALLBACK,
                                  (gpointer) store_option, description, s->arg };
  }
  entries[G_N_ELEMENTS (specs)] = (GOptionEntry) { NULL };
  GOptionContext *context = g_option_context_new ("- tune hyperparameters by hypergradients (DrMAD) on OpenCL");
  GOptionGroup *group = g_option_group_new ("drmad", "drmad", "drmad options", cli, NULL);
  g_option_group_add_entries (group, entries);
  g_option_context_set_main_group (context, group);
  g_option_context_set_summary (context,
    "Learns hyperparameters of a multilayer perceptron (L2 penalties, learning-rate and momentum\n"
    "schedules, initial scales) by gradient descent on hypergradients, on any OpenCL device.\n"
    "Without --no-gui it opens the desktop window (where built).\n\n"
    "Example: drmad --no-gui --dataset fashion-mnist --layers 784,100,10 --learn l2,lr --meta-iters 20");
  g_option_context_set_description (context,
    "Every setting also reads from --config FILE ([drmad] group, keys named as the long options);\n"
    "the command line wins. A run folder holds run.ini, history.csv, hyper.csv, l2.png, lr.png,\n"
    "loss.png and checkpoint.bin; --resume DIR continues it.");
  return context;
}

/* FOLDER.drmad-old- and six characters beside @folder (which is gone)
 * that holds a run.ini: where --force, on a file system without the swap
 * of two folders, moved the earlier run before putting the new one in its
 * place, and was killed between the two renames (lib/run.c,
 * replace_earlier_run); NULL where there is none. */
static char *
run_moved_aside (const char *folder_given)
{
  g_autofree char *folder = g_strdup (folder_given);
  gsize length = strlen (folder);
  while (length > 1 && G_IS_DIR_SEPARATOR (folder[length - 1]))
    folder[--length] = '\0';
  g_autofree char *parent = g_path_get_dirname (folder), *base = g_path_get_basename (folder);
  g_autofree char *prefix = g_strconcat (base, ".drmad-old-", NULL);
  g_autoptr (GDir) dir = g_dir_open (parent, 0, NULL);
  const char *name;
  while (dir && (name = g_dir_read_name (dir))) {
    if (!g_str_has_prefix (name, prefix) || strlen (name) != strlen (prefix) + 6)
      continue;
    g_autofree char *ini = g_build_filename (parent, name, "run.ini", NULL);
    if (g_file_test (ini, G_FILE_TEST_IS_REGULAR))
      return g_build_filename (parent, name, NULL);
  }
  return NULL;
}

gboolean
drmad_options_parse (DrmadOptions *o, int *argc, char ***argv, GError **error)
{
  g_autoptr (GHashTable) cli = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr (GHashTable) file = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  drmad_hyper_config_init (&o->hyper);
  drmad_meta_config_init (&o->meta);

  g_autoptr (GPtrArray) descriptions = g_ptr_array_new_with_free_func (g_free);
  /* GOption prints --help and exits inside the parse; a process of several
   * under mpirun must first tell the others (drmad-cli.c, run_launched).
   * Callbacks, in a group of their own, note the first help option: GOption
   * takes back what G_OPTION_ARG_NONE stored when a later option fails, and
   * "--help --bogus" then said "Unknown option --bogus" under mpirun where
   * plain drmad prints the help, having read nothing after --help. */
  HelpAsked asked = { FALSE, FALSE };
  /* NOALIAS: GOption reads an entry of a group also as --GROUP-NAME, and
   * "--deferred-help" printed the help under mpirun where plain drmad
   * refuses it. */
  static const GOptionEntry help_entries[] = {
    { "help", 'h', HELP_FLAGS, G_OPTION_ARG_CALLBACK, (gpointer) note_help, NULL, NULL },
    { "help", '?', HELP_FLAGS, G_OPTION_ARG_CALLBACK, (gpointer) note_help, NULL, NULL },
    { "help-all", 0, HELP_FLAGS, G_OPTION_ARG_CALLBACK, (gpointer) note_help, NULL, NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context = options_context (cli, descriptions);
  if (o->help_deferred) {
    GOptionGroup *help_group = g_option_group_new ("deferred-help", "", "", &asked, NULL);
    g_option_group_add_entries (help_group, help_entries);
    g_option_context_add_group (context, help_group);
  }
  g_option_context_set_help_enabled (context, !o->help_deferred);
  /* as given: the parse takes out what it reads */
  g_autofree char **given = g_memdup2 (*argv, ((gsize) *argc + 1) * sizeof (char *));
  int n_given = *argc;
  /* GOption reads a cluster of short options letter by letter and prints
   * the help at its h (or ?), status 0, before it meets what follows: "-h=x"
   * and "-hx" printed the help where "-xh" and "--help=x" are refused. Such
   * a cluster is refused as they are, by plain drmad and under mpirun alike
   * (the ranks' parser noted the h and printed the help too); "-hh" and
   * "-h?" are the help. */
  const char *help_cluster = first_help_option (n_given, given);
  if (help_cluster && help_cluster[1] != '-' && help_cluster[1 + strspn (help_cluster + 1, "h?")] != '\0') {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_UNKNOWN_OPTION, "Unknown option %s", help_cluster);
    return FALSE;
  }
  gboolean parsed = g_option_context_parse (context, argc, argv, error);
  if (asked.help) {   /* the text GOption prints for them, from a parser without those entries */
    g_clear_error (error);
    /* GOption's own help takes --help and --help-all only as they are: to
     * plain drmad "--help=x" is an unknown option, and the callbacks, which
     * are given no value, took it for --help (the help, status 0, under
     * mpirun). The refusal is GOption's, from a parser that has no help. */
    const char *first = first_help_option (n_given, given);
    if (first && g_str_has_prefix (first, "--") && strchr (first, '=')) {
      g_autoptr (GHashTable) unused = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
      g_autoptr (GPtrArray) unused_descriptions = g_ptr_array_new_with_free_func (g_free);
      g_autoptr (GOptionContext) refusing = options_context (unused, unused_descriptions);
      g_option_context_set_help_enabled (refusing, FALSE);
      char *alone[] = { given[0], (char *) first, NULL }, **alone_argv = alone;
      int n_alone = 2;
      if (!g_option_context_parse (refusing, &n_alone, &alone_argv, error))
        return FALSE;
    }
    g_autoptr (GOptionContext) plain = options_context (cli, descriptions);
    o->help = g_option_context_get_help (plain, !asked.all, NULL);
    return TRUE;
  }
  if (!parsed)
    return FALSE;
  /* After the parse, as GOption refuses an option it does not know; under
   * mpirun too, whose ranks parse here with help_deferred. Read after a
   * help option, GOption's help had already been printed (it prints it in
   * the parse), and the deferred one is above. */
  const char *flag_with_value = first_flag_with_value (n_given, given);
  if (flag_with_value) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_UNKNOWN_OPTION, "Unknown option %s", flag_with_value);
    return FALSE;
  }
  if (*argc > 1) {
    g_autofree char *quoted = drmad_error_excerpt ((*argv)[1], DRMAD_ERROR_EXCERPT_CHARS);
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT, "unexpected argument \"%s\"", quoted);
    return FALSE;
  }

  const char *resume = g_hash_table_lookup (cli, "resume");
  const char *config = g_hash_table_lookup (cli, "config");
  static const char *const folder_options[] = { "out", "resume", "config" };
  for (guint i = 0; i < G_N_ELEMENTS (folder_options); i++) {
    const char *given = g_hash_table_lookup (cli, folder_options[i]);
    if (given && *given == '\0') {
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT, "--%s is empty: expected a %s", folder_options[i],
                   g_str_equal (folder_options[i], "config") ? "file name" : "folder name");
      return FALSE;
    }
  }
  if (resume && g_hash_table_lookup (cli, "out")) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                 "--resume %s and --out cannot be combined: a resumed run stays in its own folder", resume);
    return FALSE;
  }
  if (resume && config) {
    g_set_error_literal (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                         "--resume and --config cannot be combined: a resumed run keeps its own run.ini");
    return FALSE;
  }
  if (resume) {
    g_autofree char *ini = g_build_filename (resume, "run.ini", NULL);
    if (!g_file_test (ini, G_FILE_TEST_EXISTS)) {
      g_autofree char *checkpoint = g_build_filename (resume, "checkpoint.bin", NULL);
      if (g_file_test (checkpoint, G_FILE_TEST_EXISTS))   /* a run whose settings file went */
        g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_NOT_FOUND,
                     "--resume %s: %s is missing, but %s is there: a run whose settings file was deleted or moved; "
                     "put it back (the settings the run was made with, as --config reads them) and resume again",
                     resume, ini, checkpoint);
      else {
        g_autofree char *aside = g_file_test (resume, G_FILE_TEST_EXISTS) ? NULL : run_moved_aside (resume);
        g_autofree char *where = aside ? g_strdup_printf ("; %s holds a run of it, moved aside by a --force run that "
                                                          "was stopped before its new run took the place (on a file "
                                                          "system without renameat2's swap): rename it back to %s to "
                                                          "resume it", aside, resume)
                                       : NULL;
        g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_NOT_FOUND, "--resume %s: no run.ini there, so it is not a run folder%s",
                     resume, where ? where : "");
      }
      return FALSE;
    }
    g_autoptr (GHashTable) read = drmad_options_read_ini (NULL, 0, ini, TRUE, error);
    if (!read)
      return FALSE;
    merge_into (file, read);
    GHashTableIter iter;
    gpointer key;
    g_hash_table_iter_init (&iter, cli);
    while (g_hash_table_iter_next (&iter, &key, NULL)) {
      const OptionSpec *spec = find_spec (key);
      /* The same value as the run's, as run.ini writes it (a dataset path
       * made absolute; the default where run.ini has no such key), is no
       * change: the command that made the run, given again with --resume,
       * continues it. */
      const char *kept = g_hash_table_lookup (read, key);
      if (!kept)
        kept = spec->default_value;
      /* a dataset path as typed, or made absolute as a new run saves it */
      const char *typed = g_hash_table_lookup (cli, key);
      g_autofree char *given = g_strcmp0 (typed, kept) != 0 && g_str_equal (key, "dataset")
                               ? dataset_as_saved (typed) : same_setting (key, typed, kept) ? g_strdup (kept)
                               : g_strdup (typed);
      /* --dataset may name another place: the checkpoint's MD5 of the data
       * decides whether they are the run's (drmad-job.c, restore_run). */
      if (spec->in_ini && !g_strv_contains (resume_may_change, key) && !g_str_equal (key, "dataset")
          && g_strcmp0 (given, kept) != 0) {
        g_autofree char *may = g_strjoinv (", --", (char **) resume_may_change);
        g_autofree char *quoted = drmad_error_excerpt (g_hash_table_lookup (cli, key), DRMAD_ERROR_EXCERPT_CHARS);
        g_autofree char *quoted_kept = kept ? drmad_error_excerpt (kept, DRMAD_ERROR_EXCERPT_CHARS) : NULL;
        g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                     "--%s %s cannot change when resuming: the run has %s (the run keeps the settings in "
                     "%s/run.ini; only --%s may, and --dataset to name the same data in another place)", (char *) key, quoted, quoted_kept ? quoted_kept : "none",
                     resume, may);
        return FALSE;
      }
      if (spec->in_ini && g_strcmp0 (given, g_hash_table_lookup (cli, key)) != 0)
        g_hash_table_iter_replace (&iter, g_steal_pointer (&given));   /* the value as the run saved it */
    }
  } else if (config) {
    GStatBuf st;
    if (g_stat (config, &st) == 0 && !S_ISREG (st.st_mode)) {
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                   "--config %s is not a regular file (a folder, a pipe or a device): give a settings file", config);
      return FALSE;
    }
    g_autoptr (GHashTable) read = drmad_options_read_ini (NULL, 0, config, TRUE, error);
    if (!read)
      return FALSE;
    merge_into (file, read);
  }

  GHashTable *layers[] = { file, cli };
  merge_values (o, layers, G_N_ELEMENTS (layers));
  o->typed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  GHashTableIter typed_iter;
  gpointer typed_key;
  g_hash_table_iter_init (&typed_iter, cli);
  while (g_hash_table_iter_next (&typed_iter, &typed_key, NULL))
    g_hash_table_add (o->typed, g_strdup (typed_key));
  /* A bad value that came from a file: say which file (convert). */
  g_autofree char *file_path = resume ? g_build_filename (resume, "run.ini", NULL) : g_strdup (config);
  if (file_path)
    note_file (o, file, cli, file_path);
  /* A resumed run keeps its dataset value as written: it is part of the
   * checkpoint's identity (drmad_options_trajectory_text). */
  if (!resume)
    absolute_dataset (o->values);
  if (file_path && g_hash_table_contains (file, "dataset") && !g_hash_table_contains (cli, "dataset"))
    o->dataset_from = g_strdup (file_path);
  o->list_devices = g_hash_table_contains (cli, "list-devices");
  o->check = g_hash_table_contains (cli, "check");
  o->force = g_hash_table_contains (cli, "force");
  o->version = g_hash_table_contains (cli, "version");
  o->no_gui = g_hash_table_contains (cli, "no-gui");
  o->shard_data = g_hash_table_contains (cli, "shard-data");
  o->evaluate = g_hash_table_contains (cli, "evaluate");
  o->resume = g_strdup (resume);
  if (resume)
    o->out = g_strdup (resume);
  else if (g_hash_table_lookup (cli, "out"))
    o->out = g_strdup (g_hash_table_lookup (cli, "out"));
  else {
    o->out = drmad_options_new_run_folder ("runs");
    o->out_default = TRUE;
  }
  return convert (o, error);
}

gboolean
drmad_options_from_values (DrmadOptions *o, GHashTable *values, GError **error)
{
  GHashTableIter iter;
  gpointer key, value;
  g_hash_table_iter_init (&iter, values);
  while (g_hash_table_iter_next (&iter, &key, &value)) {
    const OptionSpec *spec = find_spec (key);
    if (!spec || !spec->in_ini) {
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                   "unknown setting \"%s\" (settings are named as the long options, see drmad --help)",
                   (char *) key);
      return in_file (o, key, FALSE, error);
    }
    if (!value) {
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT, "setting \"%s\" has no value", (char *) key);
      return in_file (o, key, FALSE, error);
    }
  }
  drmad_hyper_config_init (&o->hyper);
  drmad_meta_config_init (&o->meta);
  merge_values (o, &values, 1);
  return convert (o, error);
}

gboolean
drmad_options_from_file_values (DrmadOptions *o, GHashTable *values, GHashTable *typed, const char *path,
                                GError **error)
{
  note_file (o, values, typed, path);
  if (!typed)
    return drmad_options_from_values (o, values, error);
  /* the file under what was typed, as drmad_options_parse layers them */
  g_autoptr (GHashTable) merged = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  merge_into (merged, values);
  merge_into (merged, typed);
  return drmad_options_from_values (o, merged, error);
}

gboolean
drmad_options_typed (const DrmadOptions *o, const char *key)
{
  return o->typed && g_hash_table_contains (o->typed, key);
}

const DrmadOptionSpec *
drmad_options_get_specs (guint *n_specs)
{
  *n_specs = G_N_ELEMENTS (specs);
  return specs;
}

gboolean
drmad_options_given (const DrmadOptions *o, const char *key)
{
  return g_hash_table_contains (o->given, key);
}

char *
drmad_options_to_ini (const DrmadOptions *o)
{
  g_autoptr (GKeyFile) file = g_key_file_new ();
  for (guint i = 0; i < G_N_ELEMENTS (specs); i++)
    if (specs[i].in_ini)
      g_key_file_set_string (file, "drmad", specs[i].name, g_hash_table_lookup (o->values, specs[i].name));
  g_key_file_set_comment (file, NULL, NULL, " drmad run settings: `drmad --no-gui --config run.ini` repeats this run", NULL);
  return g_key_file_to_data (file, NULL, NULL);
}

char *
drmad_options_trajectory_text (const DrmadOptions *o)
{
  GString *text = g_string_new (NULL);
  for (guint i = 0; i < G_N_ELEMENTS (specs); i++)
    if (specs[i].in_ini && !g_strv_contains (resume_may_change, specs[i].name))
      g_string_append_printf (text, "%s=%s\n", specs[i].name, (char *) g_hash_table_lookup (o->values, specs[i].name));
  return g_string_free (text, FALSE);
}

void
drmad_options_clear (DrmadOptions *o)
{
  g_clear_pointer (&o->resume, g_free);
  g_clear_pointer (&o->help, g_free);
  g_clear_pointer (&o->out, g_free);
  g_clear_pointer (&o->dataset, g_free);
  g_clear_pointer (&o->dataset_from, g_free);
  g_clear_pointer (&o->device, g_free);
  g_clear_pointer (&o->values, g_hash_table_unref);
  g_clear_pointer (&o->given, g_hash_table_unref);
  g_clear_pointer (&o->typed, g_hash_table_unref);
  g_clear_pointer (&o->from_file, g_hash_table_unref);
}
