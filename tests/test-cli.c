/* The drmad program: options and config precedence, the run
 * folder's contents, resume against an uninterrupted run, PNGs that decode,
 * bad input with exit status 2, and --check. Runs the real binary. */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <math.h>
#include <png.h>
#include <string.h>
#include <zlib.h>
#include <sys/resource.h>

#include "drmad.h"
#include "test-util.h"

static const char *small[] = { "--no-gui", "--iters", "40", "--train-size", "600", "--val-size", "300",
                                "--layers", "784,20,10", "--learn", "l2,lr,momentum", "--segments", "2",
                                "--batch", "50", NULL };


static const char *extra_env_key, *extra_env_value;  /* set around one drmad_with_env () */

/* Runs drmad with @base then @extra arguments; returns the exit status. */
static int
drmad (const char *const *base, const char *const *extra, char **out, char **err)
{
  return run_drmad (base, extra, extra_env_key, extra_env_value, out, err);
}

static char *
read_text (const char *folder, const char *name)
{
  g_autofree char *path = g_build_filename (folder, name, NULL);
  char *text = NULL;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, &error));
  return text;
}

static void
test_help_and_bad_input (void)
{
  g_autofree char *out = NULL;
  g_assert_cmpint (drmad ((const char *[]){ "--help", NULL }, NULL, &out, NULL), ==, 0);
  const char *documented[] = { "--dataset", "--layers", "--activation", "--batch", "--iters", "--meta-iters",
                               "--method", "--snapshots", "--seed", "--device", "--gemm", "--out", "--resume",
                               "--force", "--config", "--check", "--evaluate", "--list-devices", "--init-l2", "--init-lr",
                               "--init-momentum", "--init-scale", "(default: 40)", "(default: auto)",
                               "--reverse-steps", "--memory-budget", "--fidelity-every" };
  for (guint i = 0; i < G_N_ELEMENTS (documented); i++)
    g_assert_nonnull (strstr (out, documented[i]));
  struct { const char *args[6]; const char *fragment; } bad[] = {
    { { "--no-gui", "--bogus", NULL }, "bogus" },
    { { "--no-gui", "--batch", "0", NULL }, "--batch 0" },
    { { "--no-gui", "--layers", "784,x,10", NULL }, "--layers" },
    { { "--no-gui", "--iters", "-5", NULL }, "--iters" },
    { { "--no-gui", "--method", "magic", NULL }, "magic" },
    { { "--no-gui", "--learn", "none,l2", NULL }, "none alone" },
    { { "--no-gui", "--memory-budget", "12Q", NULL }, "--memory-budget 12Q" },
    { { "--no-gui", "--fidelity-every", "-1", NULL }, "--fidelity-every" },
    { { "--no-gui", "--init-lr", "0.1,0.2,0.3,0.4", NULL }, "one per weight layer" },
    /* one weight layer: not "one value, or 1" */
    { { "--no-gui", "--layers", "784,10", "--init-l2", "1,5e-4", NULL },
      "--init-l2 1,5e-4: expected one value (the network has one weight layer)" },
    { { "--no-gui", "--init-momentum", "1.5", NULL }, "--init-momentum" },
    /* two commas: no number with a decimal point either, said without a hint (it recursed until the stack ran out) */
    { { "--no-gui", "--meta-lr", "0,1,5", NULL }, "--meta-lr 0,1,5: expected a finite number above 0 (see drmad --help)" },
    /* inf is above 0 and from 1: an unbounded range says that it must be finite (it said "a number from 1") */
    { { "--no-gui", "--meta-lr", "inf", NULL }, "--meta-lr inf: expected a finite number above 0 (see drmad --help)" },
    { { "--no-gui", "--divergence-factor", "inf", NULL }, "--divergence-factor inf: expected a finite number from 1 (see" },
    { { "--no-gui", "--clip", "inf", NULL }, "--clip inf: expected a finite number from 0 (see" },
    { { "--no-gui", "--meta-momentum", "0,,9", NULL }, "--meta-momentum 0,,9: expected a number from 0 up to 0.999999 (see" },
    { { "--no-gui", "--init-momentum", "0.5,1", NULL }, "--init-momentum 0.5,1" },
    { { "--no-gui", "--init-l2", "1e300", NULL }, "--init-l2 1e300" },
    { { "--no-gui", "--init-scale", "1e30", NULL }, "--init-scale 1e30" },
    { { "--no-gui", "--init-lr", "1e-320", NULL }, "--init-lr 1e-320" },
    /* within (0, 1) and (0, 100] but past what θ may hold: once refused only at the end of the run */
    { { "--no-gui", "--init-momentum", "1e-310", NULL }, "--init-momentum 1e-310: expected a number from 1e-12 up to 0.999999999999" },
    { { "--no-gui", "--init-scale", "1e-310", NULL }, "--init-scale 1e-310: expected 0 (= 1/sqrt(fan_in)) or a number from 1e-12" },
    { { "--no-gui", "--init-scale", "0,1e-13,0", NULL }, "--init-scale 0,1e-13,0: item 2 of 3 (1e-13): expected 0 (= 1/sqrt(fan_in)) or" },
    { { "--no-gui", "--init-scale", "200", NULL }, "--init-scale 200: expected 0 (= 1/sqrt(fan_in)) or a number from 1e-12 up to 100" },
    /* An empty item: the whole value, and which item (the default job has 3 weight layers). */
    { { "--no-gui", "--init-lr", "0.1,0.1,", NULL }, "--init-lr 0.1,0.1,: item 3 of 3 is empty: expected a number" },
    { { "--no-gui", "--init-l2", "1e-4,x,1e-4", NULL }, "--init-l2 1e-4,x,1e-4: item 2 of 3 (x): expected" },
    { { "--no-gui", "--dataset", "/no/such/data", NULL }, "/no/such/data" },
    { { "--no-gui", "--config", "/no/such.ini", NULL }, "/no/such.ini" },
    { { "--no-gui", "--resume", "/no/such/run", NULL }, "/no/such/run" },
    /* an empty folder name: said so, before anything is loaded */
    { { "--no-gui", "--out", "", NULL }, "--out is empty: expected a folder name" },
    { { "--no-gui", "--resume=", NULL }, "--resume is empty: expected a folder name" },
    { { "--no-gui", "--config", "", NULL }, "--config is empty: expected a file name" },
    /* --check's own problem (784,16,10) has two weight layers, not the three of the default --layers the
     * list was read for: it used the first two values and dropped the third */
    { { "--no-gui", "--check", "--init-l2", "1e-6,1e-5,1e-1", NULL },
      "--check --init-l2 1e-6,1e-5,1e-1: with no --layers (nor --iters, --batch, …) --check runs its own small problem" },
    { { "--no-gui", "--check", "--init-momentum", "0.5,0.6,0.7", NULL }, "--check --init-momentum 0.5,0.6,0.7: with no" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autofree char *err = NULL;
    g_assert_cmpint (drmad (bad[i].args, NULL, NULL, &err), ==, 2);
    g_assert_nonnull (strstr (err, bad[i].fragment));
  }
}

/* An option that takes no value given one. Every long one that --help
 * lists without "=VALUE" is refused, status 2, naming it with its value
 * (GOption took it for the option and dropped the value). A cluster of
 * short options with the help's h or ? and anything else ("-h=x", "-hx",
 * "-?=x", "-h=") printed the help, status 0, where "-xh" and "--help=x"
 * are refused: it is refused as they are, nothing on standard output.
 * "-hh" and "-h?" are the help. */
static void
test_flag_with_value (void)
{
  g_autofree char *help = NULL;
  g_assert_cmpint (drmad ((const char *[]){ "--help", NULL }, NULL, &help, NULL), ==, 0);
  g_autoptr (GPtrArray) refused = g_ptr_array_new_with_free_func (g_free);
  g_auto (GStrv) lines = g_strsplit (help, "\n", -1);
  for (guint i = 0; lines[i]; i++) {
    const char *option = lines[i] + strspn (lines[i], " ");
    gsize length = strcspn (option, " =");
    if (g_str_has_prefix (option, "--") && option[length] == ' ')
      g_ptr_array_add (refused, g_strdup_printf ("%.*s=x", (int) length, option));
  }
  const char *flags[] = { "--no-gui=x", "--list-devices=x", "--check=x", "--evaluate=x", "--force=x", "--version=x",
                          "--shard-data=x" };
  for (guint i = 0; i < G_N_ELEMENTS (flags); i++)
    g_assert_true (g_ptr_array_find_with_equal_func (refused, flags[i], g_str_equal, NULL));
  const char *more[] = { "--help=x", "--help-all=x", "-h=x", "-?=x", "-hx", "-h=", "-?h=0", "-hh=" };
  for (guint i = 0; i < G_N_ELEMENTS (more); i++)
    g_ptr_array_add (refused, g_strdup (more[i]));
  for (guint i = 0; i < refused->len; i++) {
    g_autofree char *out = NULL, *err = NULL;
    int status = drmad ((const char *[]){ "--no-gui", refused->pdata[i], NULL }, NULL, &out, &err);
    g_test_message ("%s: status %d, stderr: %s", (const char *) refused->pdata[i], status, err);
    g_assert_cmpint (status, ==, 2);
    g_autofree char *line = g_strdup_printf ("drmad: Unknown option %s (see drmad --help)\n",
                                             (const char *) refused->pdata[i]);
    g_assert_cmpstr (err, ==, line);
    g_assert_cmpstr (out, ==, "");
  }
  const char *helps[] = { "-hh", "-h?", "-?" };
  for (guint i = 0; i < G_N_ELEMENTS (helps); i++) {
    g_autofree char *out = NULL;
    g_assert_cmpint (drmad ((const char *[]){ "--no-gui", helps[i], NULL }, NULL, &out, NULL), ==, 0);
    g_assert_cmpstr (out, ==, help);
  }
}

static void
test_config_precedence (void)
{
  if (!have_fashion_mnist ())
    return;
  g_autofree char *dir = test_tmp_dir ("drmad-cli", NULL);
  g_autofree char *config = g_build_filename (dir, "my.ini", NULL);
  g_autofree char *out_dir = g_build_filename (dir, "run", NULL);
  g_assert_true (g_file_set_contents (config, "[drmad]\niters=30\nmeta-iters=1\nseed=5\n", -1, NULL));
  /* The file sets iters and meta-iters; the command line overrides iters. */
  g_assert_cmpint (drmad (small, (const char *[]){ "--config", config, "--out", out_dir, NULL }, NULL, NULL), ==, 0);
  g_autofree char *ini = read_text (out_dir, "run.ini");
  g_assert_nonnull (strstr (ini, "\niters=40\n"));
  g_assert_nonnull (strstr (ini, "\nmeta-iters=1\n"));
  g_assert_nonnull (strstr (ini, "\nseed=5\n"));
  g_assert_nonnull (strstr (ini, "\nlayers=784,20,10\n"));
  /* Regression (found by fuzz-run-ini): a value that is not UTF-8 is refused, not read as NULL. */
  g_assert_true (g_file_set_contents (config, "[drmad]\nprecision=f\377oat32\n", -1, NULL));
  g_autofree char *utf8_err = NULL;
  g_assert_cmpint (drmad (small, (const char *[]){ "--config", config, NULL }, NULL, &utf8_err), ==, 2);
  g_assert_nonnull (strstr (utf8_err, "precision"));
  /* An unknown key in a config file is refused. */
  /* A bad value in a config file names the file. */
  g_assert_true (g_file_set_contents (config, "[drmad]\niters=abc\n", -1, NULL));
  g_autofree char *file_err = NULL;
  g_assert_cmpint (drmad (NULL, (const char *[]){ "--no-gui", "--config", config, NULL }, NULL, &file_err), ==, 2);
  g_assert_nonnull (strstr (file_err, config));
  g_assert_nonnull (strstr (file_err, "--iters abc"));
  /* and so does a name that is none of an option's (found by fuzz-run-ini:
   * the message named neither the file nor the option) */
  g_assert_true (g_file_set_contents (config, "[drmad]\ngemm=\nactivation=sigmoid\n", -1, NULL));
  g_autofree char *name_err = NULL;
  g_assert_cmpint (drmad (NULL, (const char *[]){ "--no-gui", "--config", config, NULL }, NULL, &name_err), ==, 2);
  g_autofree char *name_message = g_strdup_printf ("in %s: --activation: unknown activation \"sigmoid\": expected ",
                                                   config);
  g_assert_nonnull (strstr (name_err, name_message));
  /* a setting of the file that another is checked against: the file, and
   * its value */
  g_assert_true (g_file_set_contents (config, "[drmad]\niters=2\n", -1, NULL));
  g_autofree char *steps_err = NULL;
  g_assert_cmpint (drmad (NULL, (const char *[]){ "--no-gui", "--config", config, NULL }, NULL, &steps_err), ==, 2);
  g_autofree char *steps_message = g_strdup_printf ("in %s: --segments 4: expected at most as many segments as "
                                                    "training steps (--iters 2)", config);
  g_assert_nonnull (strstr (steps_err, steps_message));
  g_autofree char *typed_err = NULL;
  g_assert_cmpint (drmad (NULL, (const char *[]){ "--no-gui", "--gemm", "fast", NULL }, NULL, &typed_err), ==, 2);
  g_assert_nonnull (strstr (typed_err, "--gemm: unknown GEMM path \"fast\": expected auto, clblast or host"));
  /* A key set twice (here across two [drmad] headers, where GKeyFile would
   * keep the last) is refused, naming both lines. */
  g_assert_true (g_file_set_contents (config, "[drmad]\niters=30\n# a comment\n[drmad]\n  iters = 20\n", -1, NULL));
  g_autofree char *twice_err = NULL;
  g_assert_cmpint (drmad (NULL, (const char *[]){ "--no-gui", "--config", config, NULL }, NULL, &twice_err), ==, 2);
  g_assert_nonnull (strstr (twice_err, "\"iters\" is set twice, on lines 2 and 5"));
  /* Lines that start with a NUL byte, which GKeyFile passes over, are not a
   * setting given twice. */
  static const char passed_over[] = "[drmad]\n\0a=1\n\0a=2\nmeta-iters=0\n";
  g_assert_true (g_file_set_contents (config, passed_over, sizeof passed_over - 1, NULL));
  g_autofree char *passed_out = NULL;
  g_assert_cmpint (drmad (small, (const char *[]){ "--config", config, NULL }, &passed_out, NULL), ==, 0);
  g_assert_nonnull (strstr (passed_out, "trained once: val_loss "));
  /* A translation (key[LOCALE]), which GKeyFile keeps only under that
   * locale, is refused whatever the locale. */
  g_assert_true (g_file_set_contents (config, "[drmad]\nseed[de]=1\nmeta-iters=0\n", -1, NULL));
  g_autofree char *locale_err = NULL;
  g_assert_cmpint (drmad (small, (const char *[]){ "--config", config, NULL }, NULL, &locale_err), ==, 2);
  g_assert_nonnull (strstr (locale_err, "line 2: \"seed[de]\" is a translated key"));
  g_assert_true (g_file_set_contents (config, "[drmad]\nitres=30\n", -1, NULL));
  g_autofree char *err = NULL;
  g_assert_cmpint (drmad (small, (const char *[]){ "--config", config, NULL }, NULL, &err), ==, 2);
  g_assert_nonnull (strstr (err, "itres"));
  g_assert_null (strstr (strstr (err, "drmad --help") + 1, "drmad --help"));   /* said once */
}

/* A bad value of a settings file names the file, the key and the value on
 * every headless path that reads one (--config, --resume, --check --config,
 * --evaluate --config), all refused before any data is read; a typed value
 * that reads like an option of the file gets no file named. */
static void
test_settings_file_bad_values (void)
{
  g_autofree char *dir = test_tmp_dir ("drmad-cli-bad", NULL);
  g_autofree char *run = g_build_filename (dir, "run", NULL);
  g_autofree char *ini = g_build_filename (run, "run.ini", NULL);
  g_assert_cmpint (g_mkdir (run, 0700), ==, 0);
  static const struct { const char *ini, *said; } bad[] = {
    { "[drmad]\niters=abc\n", "--iters abc: expected a whole number from 1 to 100000000" },
    { "[drmad]\nmeta-lr=0,1,5\n", "--meta-lr 0,1,5: expected a finite number above 0" },
    { "[drmad]\ninit-l2=1e-4,x,1e-4\n", "--init-l2 1e-4,x,1e-4: item 2 of 3 (x): expected" },
    { "[drmad]\nmethod=magic\n", "--method: unknown method \"magic\": expected auto, exact, piecewise, truncated or drmad" },
    { "[drmad]\ngemm=fast\n", "--gemm: unknown GEMM path \"fast\": expected auto, clblast or host" },
    { "[drmad]\nlearn=none,l2\n", "--learn none,l2: expected none alone" },
    { "[drmad]\nsegments=9\niters=3\n", "--segments 9: expected at most as many segments as training steps (--iters 3)" },
    { "[drmad]\niters=30\niters=20\n", "\"iters\" is set twice, on lines 2 and 3 (\"30\" and \"20\")" },
    /* each value quoted: an empty one, or one with " and " in it, is read as written */
    { "[drmad]\niters=\niters=20\n", "\"iters\" is set twice, on lines 2 and 3 (\"\" and \"20\")" },
    { "[drmad]\nlearn=l2 and lr\nlearn=lr\n", "\"learn\" is set twice, on lines 2 and 3 (\"l2 and lr\" and \"lr\")" },
    { "[drmad]\nitres=30\n", "unknown setting \"itres\"" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_assert_true (g_file_set_contents (ini, bad[i].ini, -1, NULL));
    const char *const paths[][5] = {
      { "--no-gui", "--config", ini, NULL },
      { "--no-gui", "--resume", run, NULL },
      { "--no-gui", "--check", "--config", ini, NULL },
      { "--no-gui", "--evaluate", "--config", ini, NULL },
    };
    for (guint k = 0; k < G_N_ELEMENTS (paths); k++) {
      g_autofree char *err = NULL;
      g_assert_cmpint (drmad (paths[k], NULL, NULL, &err), ==, 2);
      g_test_message ("%s %s: %s", paths[k][1], paths[k][2], err);
      /* "in PATH: --KEY VALUE: …" for a value, "PATH: …" for the file's lines */
      g_autofree char *in_file = g_strdup_printf ("%s%s: %s", g_str_has_prefix (bad[i].said, "--") ? "in " : "", ini,
                                                  bad[i].said);
      g_assert_nonnull (strstr (err, in_file));
    }
  }
  /* A typed value is the command line's, even where it reads like a key of
   * the file: no file named (the message was searched for --iters). */
  g_assert_true (g_file_set_contents (ini, "[drmad]\niters=30\n", -1, NULL));
  g_autofree char *typed_err = NULL;
  g_assert_cmpint (drmad ((const char *[]){ "--no-gui", "--config", ini, "--activation=--iters", NULL }, NULL, NULL,
                          &typed_err), ==, 2);
  g_assert_nonnull (strstr (typed_err, "drmad: --activation: unknown activation \"--iters\""));
  g_assert_null (strstr (typed_err, ini));
  /* and a file's value that the command line replaces is not the file's */
  g_assert_true (g_file_set_contents (ini, "[drmad]\niters=abc\n", -1, NULL));
  g_autofree char *replaced_err = NULL;
  g_assert_cmpint (drmad ((const char *[]){ "--no-gui", "--config", ini, "--iters", "0", NULL }, NULL, NULL,
                          &replaced_err), ==, 2);
  g_assert_nonnull (strstr (replaced_err, "drmad: --iters 0: expected a whole number"));
  g_assert_null (strstr (replaced_err, ini));
  remove_tree (dir);
}

static void
assert_png (const char *folder, const char *name, guint width, guint height)
{
  g_autofree char *path = g_build_filename (folder, name, NULL);
  png_image image = { .version = PNG_IMAGE_VERSION };
  g_assert_true (png_image_begin_read_from_file (&image, path));
  g_assert_cmpuint (image.width, ==, width);
  g_assert_cmpuint (image.height, ==, height);
  image.format = PNG_FORMAT_RGBA;
  g_autofree guint8 *pixels = g_malloc (PNG_IMAGE_SIZE (image));
  g_assert_true (png_image_finish_read (&image, NULL, pixels, 0, NULL));
  guint coloured = 0;  /* something besides white, grey and black was drawn */
  for (gsize i = 0; i < PNG_IMAGE_SIZE (image); i += 4)
    coloured += pixels[i] != pixels[i + 1] || pixels[i + 1] != pixels[i + 2];
  g_assert_cmpuint (coloured, >, 100);
}

static guint
count_lines (const char *text)
{
  guint n = 0;
  for (const char *p = text; *p; p++)
    n += *p == '\n';
  return n;
}

static void
test_run_folder_and_resume (void)
{
  if (!have_fashion_mnist ())
    return;
  g_autofree char *dir = test_tmp_dir ("drmad-cli", NULL);
  g_autofree char *whole = g_build_filename (dir, "whole", NULL);
  g_autofree char *split = g_build_filename (dir, "split", NULL);
  g_autofree char *out = NULL;
  g_assert_cmpint (drmad (small, (const char *[]){ "--meta-iters", "4", "--out", whole, NULL }, &out, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "meta 4/4"));
  g_assert_nonnull (strstr (out, "final  learned: test_loss"));
  const char *files[] = { "run.ini", "history.csv", "hyper.csv", "checkpoint.bin", "l2.png", "lr.png", "loss.png" };
  for (guint i = 0; i < G_N_ELEMENTS (files); i++) {
    g_autofree char *path = g_build_filename (whole, files[i], NULL);
    g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));
  }
  assert_png (whole, "l2.png", 800, 500);
  assert_png (whole, "lr.png", 800, 500);
  assert_png (whole, "loss.png", 800, 500);
  g_autofree char *history = read_text (whole, "history.csv");
  g_autofree char *values = read_text (whole, "hyper.csv");
  g_assert_cmpuint (count_lines (history), ==, 1 + 4 + 3);  /* header, 4 meta-iterations, final initial/learned/best */
  g_assert_nonnull (strstr (history, "\nfinal-best,"));
  g_assert_nonnull (strstr (history, ",method_used,fidelity_reference,fidelity_cosine,"));
  g_assert_nonnull (strstr (out, "final  best:    test_loss"));
  g_assert_nonnull (strstr (out, "fidelity "));   /* measured at meta-iteration 1 and shown */
  g_assert_cmpuint (count_lines (values), ==, 1 + 4 * (2 + 4 + 4));  /* θ: 2 L2, 2×2 lr, 2×2 momentum */
  g_assert_nonnull (strstr (values, "\n4,momentum/layer2/seg1,"));
  /* Numbers round-trip: every value in hyper.csv reprints to the same text with %.17g. */
  g_auto (GStrv) lines = g_strsplit (values, "\n", -1);
  for (guint i = 1; lines[i] && *lines[i]; i++) {
    g_auto (GStrv) cells = g_strsplit (lines[i], ",", -1);
    char buffer[G_ASCII_DTOSTR_BUF_SIZE];
    g_assert_cmpstr (g_ascii_formatd (buffer, sizeof buffer, "%.17g", g_ascii_strtod (cells[2], NULL)), ==, cells[2]);
  }

  /* An existing folder is never overwritten without --force. */
  g_autofree char *err = NULL;
  g_assert_cmpint (drmad (small, (const char *[]){ "--meta-iters", "1", "--out", whole, NULL }, NULL, &err), ==, 2);
  g_assert_nonnull (strstr (err, "--force"));
  g_autofree char *history_after = read_text (whole, "history.csv");
  g_assert_cmpstr (history_after, ==, history);

  /* Stop after 2, resume to 4: the same numbers as the uninterrupted run. */
  g_assert_cmpint (drmad (small, (const char *[]){ "--meta-iters", "2", "--out", split, NULL }, NULL, NULL), ==, 0);
  g_assert_cmpint (drmad ((const char *[]){ "--no-gui", "--resume", split, "--meta-iters", "4", NULL }, NULL, NULL, NULL), ==, 0);
  g_autofree char *resumed_values = read_text (split, "hyper.csv");
  g_assert_cmpstr (resumed_values, ==, values);
  g_autofree char *resumed_history = read_text (split, "history.csv");
  g_auto (GStrv) a = g_strsplit (history, "\n", -1), b = g_strsplit (resumed_history, "\n", -1);
  g_assert_cmpuint (g_strv_length (a), ==, g_strv_length (b));
  for (guint i = 0; a[i]; i++) {  /* every column but the timing */
    g_auto (GStrv) ca = g_strsplit (a[i], ",", -1), cb = g_strsplit (b[i], ",", -1);
    g_assert_cmpuint (g_strv_length (ca), ==, g_strv_length (cb));
    for (guint k = 0; ca[k]; k++)
      if (k != 6)
        g_assert_cmpstr (ca[k], ==, cb[k]);
  }
  /* A resume with fewer meta-iterations than the run has only evaluates
   * again, and run.ini keeps the run's 4, so that --config run.ini repeats it. */
  g_autofree char *fewer_out = NULL;
  g_assert_cmpint (drmad ((const char *[]){ "--no-gui", "--resume", split, "--meta-iters", "1", NULL }, NULL,
                          &fewer_out, NULL), ==, 0);
  g_assert_null (strstr (fewer_out, "meta 1/"));
  g_autofree char *fewer_ini = read_text (split, "run.ini");
  g_assert_nonnull (strstr (fewer_ini, "\nmeta-iters=4\n"));
  g_autofree char *fewer_values = read_text (split, "hyper.csv");
  g_assert_cmpstr (fewer_values, ==, values);
  /* A run stopped before its count (run.ini says 10, 4 done): a resume with
   * fewer evaluates again and leaves the 10 for the next --resume. */
  g_autofree char *split_ini = g_build_filename (split, "run.ini", NULL);
  g_auto (GStrv) ini_parts = g_strsplit (fewer_ini, "\nmeta-iters=4\n", 2);
  g_autofree char *stopped_ini = g_strconcat (ini_parts[0], "\nmeta-iters=10\n", ini_parts[1], NULL);
  g_assert_true (g_file_set_contents (split_ini, stopped_ini, -1, NULL));
  g_assert_cmpint (drmad ((const char *[]){ "--no-gui", "--resume", split, "--meta-iters", "1", NULL }, NULL, NULL,
                          NULL), ==, 0);
  g_autofree char *stopped_after = read_text (split, "run.ini");
  g_assert_nonnull (strstr (stopped_after, "\nmeta-iters=10\n"));

  /* A damaged checkpoint is refused with one clear line. */
  g_autofree char *checkpoint = g_build_filename (split, "checkpoint.bin", NULL);
  g_autofree char *bytes = NULL;
  gsize size;
  g_assert_true (g_file_get_contents (checkpoint, &bytes, &size, NULL));
  bytes[size / 2] ^= 0x5a;
  g_assert_true (g_file_set_contents (checkpoint, bytes, size, NULL));
  g_autofree char *err2 = NULL;
  g_assert_cmpint (drmad ((const char *[]){ "--no-gui", "--resume", split, "--meta-iters", "5", NULL }, NULL, NULL, &err2), ==, 2);
  g_assert_nonnull (strstr (err2, "CRC"));
  /* and says what is left of the run, and how to run it again */
  g_autofree char *again = g_strdup_printf ("its meta-iterations so far stay in history.csv and hyper.csv; to run it "
                                            "again from the start: drmad --no-gui --config %s/run.ini --out", split);
  g_assert_nonnull (strstr (err2, again));
  /* A checkpoint whose CRC holds but whose optimiser state the restore
   * refuses (a NaN meta learning rate: lib/run.c's frame of 20 bytes, its
   * payload's 8-integer header, the state's rate at 40) gets the same advice,
   * and is named with the value (the state's message named no file: found
   * by fuzz-checkpoint, docs/reliability.md). */
  bytes[size / 2] ^= 0x5a;
  const gsize rate_at = 20 + 8 * 8 + 40;
  const double nan_rate = NAN;
  memcpy (bytes + rate_at, &nan_rate, 8);
  guint32 crc = crc32 (crc32 (0, NULL, 0), (const Bytef *) bytes + 20, size - 24);
  memcpy (bytes + size - 4, &crc, 4);
  g_assert_true (g_file_set_contents (checkpoint, bytes, size, NULL));
  g_autofree char *err_state = NULL;
  g_assert_cmpint (drmad ((const char *[]){ "--no-gui", "--resume", split, "--meta-iters", "5", NULL }, NULL, NULL,
                          &err_state), ==, 2);
  g_autofree char *state_message = g_strdup_printf ("%s: the optimiser state's meta learning rate is nan", checkpoint);
  g_assert_nonnull (strstr (err_state, state_message));
  g_assert_nonnull (strstr (err_state, again));

  /* Another run's whole checkpoint (θ of l2, lr and momentum: 10 values in
   * 3 groups) in a run that learns L2 alone says what each learns (the
   * settings are compared before θ's size). */
  g_autofree char *other = g_build_filename (dir, "other", NULL);
  g_assert_cmpint (drmad (small, (const char *[]){ "--meta-iters", "1", "--learn", "l2", "--out", other, NULL }, NULL,
                          NULL), ==, 0);
  g_autofree char *whole_checkpoint = g_build_filename (whole, "checkpoint.bin", NULL);
  g_autofree char *other_checkpoint = g_build_filename (other, "checkpoint.bin", NULL);
  g_autofree char *whole_bytes = NULL;
  g_assert_true (g_file_get_contents (whole_checkpoint, &whole_bytes, &size, NULL));
  g_assert_true (g_file_set_contents (other_checkpoint, whole_bytes, size, NULL));
  g_autofree char *err3 = NULL;
  g_assert_cmpint (drmad ((const char *[]){ "--no-gui", "--resume", other, "--meta-iters", "2", NULL }, NULL, NULL,
                          &err3), ==, 2);
  g_assert_nonnull (strstr (err3, "written by a run with learn=l2,lr,momentum; this run has learn=l2"));
  g_assert_nonnull (strstr (err3, "if the checkpoint is another run's, put this run's back"));
}

static void
test_train_once (void)
{
  if (!have_fashion_mnist ())
    return;
  g_autofree char *out = NULL, *err = NULL;
  g_assert_cmpint (drmad (small, (const char *[]){ "--meta-iters", "0", NULL }, &out, &err), ==, 0);
  g_assert_nonnull (strstr (out, "trained once: val_loss "));
  g_assert_nonnull (strstr (out, "test_loss "));
  g_assert_null (strstr (err, "is larger than"));
  /* A minibatch larger than the training split runs (examples repeat within
   * it), and says so. */
  g_autofree char *small_out = NULL, *small_err = NULL;
  g_assert_cmpint (drmad (small, (const char *[]){ "--meta-iters", "0", "--train-size", "30", NULL }, &small_out,
                          &small_err), ==, 0);
  g_assert_nonnull (strstr (small_out, "trained once: val_loss "));
  g_assert_nonnull (strstr (small_err, "--batch 50 is larger than the 30 training examples"));
}

/* What `drmad @options --evaluate` writes for the θ lines @lines (a file in
 * @dir on its standard input). */
static char *
evaluate_lines (const char *dir, const char *const *options, const char *lines)
{
  g_autofree char *stdin_path = g_build_filename (dir, "theta.txt", NULL);
  g_assert_true (g_file_set_contents (stdin_path, lines, -1, NULL));
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_set_stdin_file_path (launcher, stdin_path);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) g_getenv ("DRMAD_BIN"));
  for (const char *const *a = options; *a; a++)
    g_ptr_array_add (argv, (gpointer) *a);
  g_ptr_array_add (argv, "--evaluate");
  g_ptr_array_add (argv, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) evaluate = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, &error);
  g_assert_no_error (error);
  char *result = NULL;
  g_assert_true (g_subprocess_communicate_utf8 (evaluate, NULL, NULL, &result, NULL, &error));
  g_assert_no_error (error);
  return result;
}

/* --patience N stops once N meta-iterations in a row found no better
 * validation loss than the best one: checked against history.csv; a
 * resume of the stopped run stops again at once. */
static void
test_patience (void)
{
  if (!have_fashion_mnist ())
    return;
  g_autofree char *dir = test_tmp_dir ("drmad-cli", NULL);
  g_autofree char *folder = g_build_filename (dir, "run", NULL);
  g_autofree char *err = NULL, *out = NULL;
  /* Meta learning rate 1 overshoots after two steps on this problem. */
  g_assert_cmpint (drmad (small, (const char *[]){ "--meta-iters", "12", "--meta-lr", "1", "--patience", "2", "--out",
                                                   folder, NULL }, &out, &err), ==, 0);
  g_autofree char *history = read_text (folder, "history.csv");
  g_auto (GStrv) lines = g_strsplit (history, "\n", -1);
  guint rows = 0, best_row = 0;
  double best = G_MAXDOUBLE;
  for (guint i = 1; lines[i] && g_ascii_isdigit (lines[i][0]); i++) {
    g_auto (GStrv) cells = g_strsplit (lines[i], ",", -1);
    rows++;
    double val_loss = g_ascii_strtod (cells[3], NULL);
    if (g_str_equal (cells[1], "0") && val_loss < best) {
      best = val_loss;
      best_row = rows;
    }
  }
  g_assert_cmpuint (rows, <, 12);
  g_assert_cmpuint (rows, ==, best_row + 2);
  g_assert_nonnull (strstr (history, "\nfinal-best,"));
  g_autofree char *said = g_strdup_printf ("stopping after meta-iteration %u", rows);
  g_assert_nonnull (strstr (err, said));
  g_assert_nonnull (strstr (err, "--patience 2"));
  /* The best θ, printed as a drmad --evaluate line, measured by the best row, retrains to the final-best row. */
  g_autofree char *measured = g_strdup_printf ("best (measured by meta-iteration %u; as a drmad --evaluate line): ",
                                               best_row);
  const char *best_line = strstr (out, measured);
  g_assert_nonnull (best_line);
  best_line += strlen (measured);
  g_autofree char *theta = g_strndup (best_line, strcspn (best_line, "\n"));
  g_autofree char *result = evaluate_lines (dir, small, theta);
  const char *final_best = strstr (history, "\nfinal-best,");
  g_auto (GStrv) final_cells = g_strsplit (final_best + 1, ",", -1);
  guint n_cells = g_strv_length (final_cells);
  double final_test_loss = g_ascii_strtod (final_cells[n_cells - 2], NULL);
  double final_test_error = g_ascii_strtod (final_cells[n_cells - 1], NULL);
  const char *test_loss = strstr (result, "test_loss="), *test_error = strstr (result, "test_error=");
  g_assert_nonnull (test_loss);
  g_assert_cmpfloat_with_epsilon (g_ascii_strtod (test_loss + 10, NULL), final_test_loss, 1e-8 * final_test_loss);
  g_assert_cmpfloat_with_epsilon (g_ascii_strtod (test_error + 11, NULL), final_test_error, 1e-8);

  g_autofree char *resumed_err = NULL;
  g_assert_cmpint (drmad ((const char *[]){ "--no-gui", "--resume", folder, NULL }, NULL, NULL, &resumed_err), ==, 0);
  g_assert_nonnull (strstr (resumed_err, said));
  g_autofree char *resumed = read_text (folder, "history.csv");
  g_auto (GStrv) resumed_lines = g_strsplit (resumed, "\n", -1);
  g_assert_cmpuint (g_strv_length (resumed_lines), ==, g_strv_length (lines));
  remove_tree (dir);
}

/* @dir/@prefix-images-idx3-ubyte of @n random images of @rows × @cols, and
 * its labels (three classes). */
static void
write_idx_pair (const char *dir, const char *prefix, guint32 n, guint32 rows, guint32 cols)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (7);
  g_autofree guint8 *images = g_malloc (16 + (gsize) n * rows * cols), *labels = g_malloc (8 + n);
  guint32 image_header[4] = { GUINT32_TO_BE (0x803), GUINT32_TO_BE (n), GUINT32_TO_BE (rows), GUINT32_TO_BE (cols) };
  guint32 label_header[2] = { GUINT32_TO_BE (0x801), GUINT32_TO_BE (n) };
  memcpy (images, image_header, 16);
  memcpy (labels, label_header, 8);
  for (gsize i = 0; i < (gsize) n * rows * cols; i++)
    images[16 + i] = g_rand_int_range (rand, 0, 256);
  for (guint32 i = 0; i < n; i++)
    labels[8 + i] = g_rand_int_range (rand, 0, 3);
  g_autofree char *image_name = g_strconcat (prefix, "-images-idx3-ubyte", NULL);
  g_autofree char *label_name = g_strconcat (prefix, "-labels-idx1-ubyte", NULL);
  g_autofree char *image_path = g_build_filename (dir, image_name, NULL);
  g_autofree char *label_path = g_build_filename (dir, label_name, NULL);
  g_assert_true (g_file_set_contents (image_path, (const char *) images, 16 + (gsize) n * rows * cols, NULL));
  g_assert_true (g_file_set_contents (label_path, (const char *) labels, 8 + n, NULL));
}

/* A training set of @n 5 × 7 images in @folder. */
static void
write_small_idx (const char *folder, guint32 n)
{
  write_idx_pair (folder, "train", n, 5, 7);
}

/* The cells of the history.csv row that starts with @label. */
static char **
history_row (const char *history, const char *label)
{
  g_autofree char *start = g_strconcat ("\n", label, ",", NULL);
  const char *row = strstr (history, start);
  g_assert_nonnull (row);
  g_autofree char *line = g_strndup (row + 1, strcspn (row + 1, "\n"));
  return g_strsplit (line, ",", -1);
}

/* The hypergradient_norm_* cells of the history.csv row @label are empty. */
static void
assert_norms_empty (const char *history, const char *label)
{
  g_autofree char *header_line = g_strndup (history, strcspn (history, "\n"));
  g_auto (GStrv) header = g_strsplit (header_line, ",", -1);
  g_auto (GStrv) row = history_row (history, label);
  guint norms = 0;
  for (guint i = 0; header[i]; i++)
    if (g_str_has_prefix (header[i], "hypergradient_norm_") && !g_str_equal (header[i], "hypergradient_norm_spread")) {
      g_assert_cmpuint (i, <, g_strv_length (row));
      g_assert_cmpstr (row[i], ==, "");
      norms++;
    }
  g_assert_cmpuint (norms, >, 0);
}

/* The one meta-iteration rejected (the reverse pass
 * diverges at the starting values, so θ never moves): no θ was accepted, and
 * the final report says the best row is the starting values, as its numbers
 * are (history.csv's final-best equals final-initial), not "the accepted θ
 * with the lowest validation loss, inf". */
static void
test_final_none_accepted (void)
{
  g_autofree char *dir = test_tmp_dir ("drmad-cli", NULL);
  g_autofree char *data = g_build_filename (dir, "data", NULL);
  g_autofree char *folder = g_build_filename (dir, "run", NULL);
  g_mkdir (data, 0755);
  write_small_idx (data, 300);
  const char *options[] = { "--no-gui", "--dataset", data, "--layers", "35,4,3", "--train-size", "60",
                            "--val-size", "20", "--test-size", "20", "--iters", "100", "--batch", "10",
                            "--activation", "tanh", "--init-lr", "50", "--method", "exact", NULL };
  g_autofree char *out = NULL, *err = NULL;
  g_assert_cmpint (drmad (options, (const char *[]){ "--meta-iters", "2", "--out", folder, NULL }, &out, &err), ==, 0);
  g_test_message ("%s", out);
  g_autofree char *history = read_text (folder, "history.csv");
  g_auto (GStrv) row = history_row (history, "1");
  g_assert_cmpstr (row[1], ==, "1");   /* rejected */
  /* the training ran whole (its reverse pass alone diverged): its validation
   * loss is kept (/cli/start-reverse-diverged), the error is not measured */
  g_assert_true (isfinite (g_ascii_strtod (row[3], NULL)) && row[3][0]);
  g_assert_cmpstr (row[4], ==, "");
  g_assert_null (strstr (history, "\n2,"));   /* θ did not move: the run stops (/cli/start-reverse-diverged) */
  g_auto (GStrv) initial = history_row (history, "final-initial");
  g_auto (GStrv) best = history_row (history, "final-best");
  guint n = g_strv_length (initial);
  g_assert_cmpstr (best[n - 2], ==, initial[n - 2]);
  g_assert_cmpstr (best[n - 1], ==, initial[n - 1]);
  const char *line = strstr (out, "final  best:");
  g_assert_nonnull (line);
  g_autofree char *best_line = g_strndup (line, strcspn (line, "\n"));
  g_assert_null (strstr (best_line, "inf"));
  g_assert_null (strstr (best_line, "accepted θ"));
  g_assert_nonnull (strstr (best_line, "no meta-iteration was accepted: the starting values"));
  remove_tree (dir);
}

/* A θ whose training diverges in the final evaluation (here the last one,
 * an L2 of about 4 that a bold meta-step reached without being measured) is
 * a result for that θ: the other two are still evaluated, the run finishes
 * with status 0, and history.csv holds all three final rows. */
static void
test_final_diverged (void)
{
  g_autofree char *dir = test_tmp_dir ("drmad-cli", NULL);
  g_autofree char *data = g_build_filename (dir, "data", NULL);
  g_autofree char *folder = g_build_filename (dir, "run", NULL);
  g_mkdir (data, 0755);
  write_small_idx (data, 300);
  const char *options[] = { "--no-gui", "--dataset", data, "--layers", "35,4,3", "--train-size", "60",
                            "--val-size", "20", "--test-size", "20", "--iters", "80", "--batch", "10",
                            "--init-l2", "1e-2", NULL };
  g_autofree char *out = NULL, *err = NULL;
  g_assert_cmpint (drmad (options, (const char *[]){ "--meta-iters", "1", "--meta-lr", "12", "--out", folder, NULL },
                          &out, &err), ==, 0);
  g_assert_nonnull (strstr (out, "final  learned: test_loss inf  test_error 1  diverged"));
  g_autofree char *history = read_text (folder, "history.csv");
  g_auto (GStrv) learned = history_row (history, "final-learned");
  guint n = g_strv_length (learned);
  g_assert_cmpstr (learned[n - 2], ==, "");   /* no inf is saved */
  g_assert_cmpfloat (g_ascii_strtod (learned[n - 1], NULL), ==, 1);
  /* The initial θ trains as it would alone: its row is what --meta-iters 0 reports. */
  g_autofree char *once = NULL;
  g_assert_cmpint (drmad (options, (const char *[]){ "--meta-iters", "0", NULL }, &once, NULL), ==, 0);
  g_auto (GStrv) initial = history_row (history, "final-initial");
  g_auto (GStrv) best = history_row (history, "final-best");
  const char *test_loss = strstr (once, "test_loss "), *test_error = strstr (once, "test_error ");
  g_assert_nonnull (test_loss);
  g_assert_nonnull (test_error);
  double once_loss = g_ascii_strtod (test_loss + 10, NULL), once_error = g_ascii_strtod (test_error + 11, NULL);
  g_assert_cmpfloat_with_epsilon (g_ascii_strtod (initial[n - 2], NULL), once_loss, 1e-6 * once_loss);
  g_assert_cmpfloat_with_epsilon (g_ascii_strtod (initial[n - 1], NULL), once_error, 1e-9);
  g_assert_true (isfinite (g_ascii_strtod (best[n - 2], NULL)) && best[n - 2][0]);
  /* The learned θ diverges in drmad --evaluate too. */
  g_auto (GStrv) lines = g_strsplit (out, "\n", -1);
  GString *theta = g_string_new (NULL);
  for (guint i = 0; lines[i]; i++)
    if (g_str_has_prefix (lines[i], "learned ")) {
      g_auto (GStrv) name_value = g_strsplit (lines[i] + 8, " = ", 2);
      g_string_append_printf (theta, "%s%s=%s", theta->len ? " " : "", name_value[0], name_value[1]);
    }
  g_string_append_c (theta, '\n');
  g_autofree char *theta_text = g_string_free (theta, FALSE);
  g_autofree char *result = evaluate_lines (dir, options, theta_text);
  g_test_message ("evaluate: %s", result);
  g_assert_nonnull (strstr (result, "diverged=1"));
  /* --resume of the finished run evaluates again and finishes too. */
  g_assert_cmpint (drmad ((const char *[]){ "--no-gui", "--resume", folder, NULL }, NULL, NULL, NULL), ==, 0);
  remove_tree (dir);
}

/* A meta learning rate so large that its steps would take θ far outside the
 * ranges a value may take (L2 and learning rates in [1e-12, 100]): each step
 * is projected onto them (the values past a bound held on it), the line
 * says so and names --meta-lr, and the run finishes. */
static void
test_meta_lr_out_of_range (void)
{
  g_autofree char *dir = test_tmp_dir ("drmad-cli", NULL);
  g_autofree char *data = g_build_filename (dir, "data", NULL);
  g_autofree char *folder = g_build_filename (dir, "run", NULL);
  g_mkdir (data, 0755);
  write_small_idx (data, 300);
  g_autofree char *out = NULL;
  g_assert_cmpint (drmad ((const char *[]){ "--no-gui", "--dataset", data, "--layers", "35,4,3", "--train-size", "60",
                                            "--val-size", "20", "--test-size", "20", "--iters", "6", "--batch", "10",
                                            "--meta-iters", "2", "--meta-lr", "1e4", "--out", folder, NULL },
                          NULL, &out, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "meta 2/2"));
  g_assert_nonnull (strstr (out, "held at the edge of their range; a smaller --meta-lr takes shorter steps"));
  g_assert_nonnull (strstr (out, "final  best:"));
  /* Every value the run recorded lies in its range, and the step of 1e4 put some on a bound. */
  g_autofree char *values = read_text (folder, "hyper.csv");
  g_auto (GStrv) lines = g_strsplit (values, "\n", -1);
  guint checked = 0, on_bound = 0;
  for (guint i = 1; lines[i] && lines[i][0]; i++) {
    g_auto (GStrv) cells = g_strsplit (lines[i], ",", -1);
    double natural = g_ascii_strtod (cells[3], NULL);
    if (g_str_has_prefix (cells[1], "l2/") || g_str_has_prefix (cells[1], "lr/")) {
      g_assert_cmpfloat (natural, >=, 1e-12);   /* as printed too: what --evaluate takes back */
      g_assert_cmpfloat (natural, <=, 100);
      on_bound += fabs (natural / 100 - 1) < 1e-12 || fabs (natural / 1e-12 - 1) < 1e-12;
      checked++;
    }
  }
  g_assert_cmpuint (checked, >, 0);
  g_assert_cmpuint (on_bound, >, 0);
  remove_tree (dir);
}

/* A relative --dataset is saved absolute in run.ini, so that the run
 * resumes and repeats from any folder; a relative one read from a file
 * that is not found says which file it came from. */
static void
test_relative_dataset (void)
{
  g_autofree char *dir = test_tmp_dir ("drmad-cli", NULL);
  g_autofree char *data = g_build_filename (dir, "data", NULL);
  g_autofree char *folder = g_build_filename (dir, "run", NULL);
  g_autofree char *elsewhere = g_build_filename (dir, "elsewhere", NULL);
  g_mkdir (data, 0755);
  g_mkdir (elsewhere, 0755);
  write_small_idx (data, 300);
  g_autofree char *cwd = g_get_current_dir ();
  const char *options[] = { "--no-gui", "--layers", "35,4,3", "--train-size", "60", "--val-size", "20",
                            "--test-size", "20", "--iters", "6", "--batch", "10", NULL };
  g_assert_cmpint (g_chdir (dir), ==, 0);
  int status = drmad (options, (const char *[]){ "--dataset", "data", "--meta-iters", "1", "--out", folder, NULL },
                      NULL, NULL);
  g_assert_cmpint (g_chdir (elsewhere), ==, 0);
  g_assert_cmpint (status, ==, 0);
  g_autoptr (GKeyFile) ini = g_key_file_new ();
  g_autofree char *ini_path = g_build_filename (folder, "run.ini", NULL);
  g_assert_true (g_key_file_load_from_file (ini, ini_path, G_KEY_FILE_NONE, NULL));
  g_autofree char *saved = g_key_file_get_string (ini, "drmad", "dataset", NULL);
  g_assert_cmpstr (saved, ==, data);
  g_assert_cmpint (drmad ((const char *[]){ "--no-gui", "--resume", folder, "--meta-iters", "2", NULL }, NULL, NULL,
                          NULL), ==, 0);
  /* The command that made the run, with --resume for --out, from the same
   * folder: its relative --dataset is the run's absolute one, no change. */
  g_assert_cmpint (g_chdir (dir), ==, 0);
  status = drmad (options, (const char *[]){ "--dataset", "data", "--meta-iters", "3", "--resume", folder, NULL },
                  NULL, NULL);
  g_assert_cmpint (g_chdir (elsewhere), ==, 0);
  g_assert_cmpint (status, ==, 0);
  g_autofree char *rerun = g_build_filename (dir, "rerun", NULL);
  g_assert_cmpint (drmad ((const char *[]){ "--no-gui", "--config", ini_path, "--out", rerun, NULL }, NULL, NULL,
                          NULL), ==, 0);
  /* A run.ini of an older drmad holds the path as typed: typed the same, it
   * is no change of --dataset (what follows is the checkpoint's own check,
   * whose identity this run wrote with the absolute path). */
  g_autofree char *ini_text = NULL;
  g_assert_true (g_file_get_contents (ini_path, &ini_text, NULL, NULL));
  g_autofree char *absolute_line = g_strdup_printf ("\ndataset=%s\n", data);
  g_assert_nonnull (strstr (ini_text, absolute_line));
  g_auto (GStrv) around = g_strsplit (ini_text, absolute_line, 2);
  g_autofree char *old_style = g_strconcat (around[0], "\ndataset=data\n", around[1], NULL);
  g_assert_true (g_file_set_contents (ini_path, old_style, -1, NULL));
  g_assert_cmpint (g_chdir (dir), ==, 0);
  g_autofree char *typed_err = NULL;
  drmad (options, (const char *[]){ "--dataset", "data", "--meta-iters", "4", "--resume", folder, NULL }, NULL,
         &typed_err);
  g_assert_cmpint (g_chdir (elsewhere), ==, 0);
  g_assert_null (strstr (typed_err, "cannot change when resuming"));
  g_assert_true (g_file_set_contents (ini_path, ini_text, -1, NULL));
  /* A run.ini of an older drmad, with the path as typed, read from another folder. */
  g_key_file_set_string (ini, "drmad", "dataset", "data");
  g_autofree char *relative_ini = g_build_filename (dir, "relative.ini", NULL);
  g_assert_true (g_key_file_save_to_file (ini, relative_ini, NULL));
  g_autofree char *err = NULL, *again = g_build_filename (dir, "again", NULL);
  g_assert_cmpint (drmad ((const char *[]){ "--no-gui", "--config", relative_ini, "--out", again, NULL }, NULL, NULL,
                          &err), ==, 2);
  g_autofree char *came_from = g_strdup_printf ("the dataset value came from %s", relative_ini);
  g_assert_nonnull (strstr (err, came_from));
  g_assert_cmpint (g_chdir (cwd), ==, 0);
  remove_tree (dir);
}

/* Every line of @text is UTF-8 and shorter than @limit bytes. */
static void
assert_short_text_lines (const char *text, gsize limit)
{
  g_assert_true (g_utf8_validate (text, -1, NULL));
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    g_assert_cmpuint (strlen (lines[i]), <, limit);
}

/* A bad value is quoted by its first characters (drmad_error_excerpt), with
 * bytes that are not UTF-8 and control characters escaped: on stderr for
 * options and settings files, and on stdout for drmad --evaluate lines,
 * which a reader decodes as text. */
static void
test_long_and_binary_values (void)
{
  g_autofree char *dir = test_tmp_dir ("drmad-cli", NULL);
  GString *widths = g_string_new ("35");
  for (guint i = 0; i < 100000; i++)
    g_string_append (widths, ",4");
  g_string_append (widths, ",3");
  g_autofree char *layers = g_string_free (widths, FALSE);
  g_autofree char *wide = g_build_filename (dir, "wide.ini", NULL);
  g_autofree char *wide_text = g_strdup_printf ("[drmad]\nlayers=%s\n", layers);
  g_assert_true (g_file_set_contents (wide, wide_text, -1, NULL));
  g_autofree char *err = NULL;
  g_assert_cmpint (drmad ((const char *[]){ "--no-gui", "--config", wide, NULL }, NULL, NULL, &err), ==, 2);
  g_assert_nonnull (strstr (err, "--layers 35,4,4,4"));
  g_autofree char *length = g_strdup_printf ("(%zu bytes in all)", strlen (layers));
  g_assert_nonnull (strstr (err, length));
  assert_short_text_lines (err, 600);

  g_autofree char *binary = g_build_filename (dir, "binary.ini", NULL);
  guint8 bytes[4096];
  for (guint i = 0; i < sizeof bytes; i++)
    bytes[i] = (i * 167 + 13) & 0xff;
  g_assert_true (g_file_set_contents (binary, (const char *) bytes, sizeof bytes, NULL));
  g_autofree char *err_binary = NULL;
  g_assert_cmpint (drmad ((const char *[]){ "--no-gui", "--config", binary, NULL }, NULL, NULL, &err_binary), ==, 2);
  g_assert_nonnull (strstr (err_binary, binary));
  assert_short_text_lines (err_binary, 1200);

  g_autofree char *data = g_build_filename (dir, "data", NULL);
  g_mkdir (data, 0755);
  write_small_idx (data, 300);
  GString *input = g_string_new ("init-lr=");
  for (guint i = 0; i < 2000000; i++)
    g_string_append_c (input, '9');
  g_string_append (input, "\ninit-lr=0.1\xff\n\xff\xfe=1\ninit-lr=0.1\x1b[2J\n");
  g_autofree char *stdin_path = g_build_filename (dir, "lines.txt", NULL);
  g_assert_true (g_file_set_contents (stdin_path, input->str, input->len, NULL));
  g_string_free (input, TRUE);
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                                                        | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_subprocess_launcher_set_stdin_file_path (launcher, stdin_path);
  const char *argv[] = { g_getenv ("DRMAD_BIN"), "--no-gui", "--evaluate", "--dataset", data, "--layers", "35,4,3",
                         "--train-size", "60", "--val-size", "20", "--test-size", "20", "--iters", "6", "--batch", "10",
                         NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) evaluate = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_assert_no_error (error);
  g_autoptr (GBytes) out_bytes = NULL;
  g_assert_true (g_subprocess_communicate (evaluate, NULL, NULL, &out_bytes, NULL, &error));
  g_assert_no_error (error);
  g_autofree char *out = g_strndup (g_bytes_get_data (out_bytes, NULL), g_bytes_get_size (out_bytes));
  g_test_message ("evaluate: %s", out);
  g_assert_cmpuint (strlen (out), ==, g_bytes_get_size (out_bytes));   /* no NUL */
  assert_short_text_lines (out, 600);
  g_assert_nonnull (strstr (out, "error: line 1: init-lr=9999"));
  g_assert_nonnull (strstr (out, "(2000000 bytes in all)"));
  g_assert_nonnull (strstr (out, "error: line 2: init-lr=0.1\\xff: expected"));
  g_assert_nonnull (strstr (out, "error: line 3: unknown key \"\\xff\\xfe\""));
  g_assert_nonnull (strstr (out, "error: line 4: init-lr=0.1\\x1b[2J: expected"));
  remove_tree (dir);
}

static void
test_check (void)
{
  if (!have_fashion_mnist ())
    return;
  g_autofree char *out = NULL;
  int status = drmad ((const char *[]){ "--no-gui", "--check", NULL }, NULL, &out, NULL);
  g_test_message ("%s", out);
  g_assert_nonnull (strstr (out, "exact vs finite diff."));
  g_assert_nonnull (strstr (out, "momentum"));
  g_assert_cmpint (status, ==, 0);
  g_assert_nonnull (strstr (out, "check passed"));
  /* A ReLU net whose kinks make the finite differences rough at 1e-7 (this
   * was a false alarm at 2.1e-4): the bound is the differences' own error,
   * and the output says which bound decided. --precision float32 is not
   * silently replaced. */
  g_autofree char *relu_out = NULL, *relu_err = NULL;
  int relu = drmad ((const char *[]){ "--no-gui", "--check", "--layers", "784,16,10", "--iters", "30",
                                      "--train-size", "500", "--val-size", "200", "--test-size", "10",
                                      "--learn", "l2,lr", "--precision", "float32", NULL }, NULL, &relu_out, &relu_err);
  g_test_message ("%s", relu_out);
  g_assert_cmpint (relu, ==, 0);
  g_assert_nonnull (strstr (relu_out, "(fd noise)") ? relu_out : strstr (relu_out, "(relative)"));
  g_assert_nonnull (strstr (relu_err, "--check runs in float64"));
  /* An exact pass that diverges with the training it reverses: the line
   * names the setting to change (it named the step and the growth alone). */
  g_autofree char *unstable_err = NULL;
  g_assert_cmpint (drmad ((const char *[]){ "--no-gui", "--check", "--init-lr", "100", NULL }, NULL, NULL, &unstable_err),
                   ==, 1);
  g_test_message ("%s", unstable_err);
  g_assert_nonnull (strstr (unstable_err, "drmad: the exact hypergradient: "));
  g_assert_nonnull (strstr (unstable_err, "the training is unstable at these values, so there is no hypergradient to "
                                          "check: give a smaller --init-lr (or --init-momentum)\n"));
}

/* The row of the --check table for @group ("l2 ", "lr "), a new string. */
static char *
check_row (const char *out, const char *group)
{
  g_auto (GStrv) lines = g_strsplit (out, "\n", -1);
  for (char **line = lines; *line; line++)
    if (g_str_has_prefix (*line, group))
      return g_strdup (*line);
  return g_strdup ("");
}

/* The l2 row's number of --check at --init-l2 @l2 on a tiny ReLU net, after
 * checking that the row says "fd 0" and the note gives its bound. */
static double
check_fd_zero_number (const char *l2)
{
  g_autofree char *out = NULL;
  g_assert_cmpint (drmad ((const char *[]){ "--no-gui", "--check", "--layers", "784,4,10", "--iters", "4",
                                            "--train-size", "100", "--val-size", "50", "--test-size", "10",
                                            "--init-l2", l2, NULL }, NULL, &out, NULL), ==, 0);
  g_test_message ("%s", out);
  g_autofree char *row = check_row (out, "l2 ");
  g_assert_null (strstr (row, "inf"));
  g_assert_nonnull (strstr (row, " ok (absolute, fd 0) "));
  char *end;
  double number = g_ascii_strtod (row + strlen ("l2             2  "), &end);
  g_assert_true (end > row + strlen ("l2             2  ") && *end == ' ');
  const char *note = strstr (out, "the number there is the absolute difference |exact - fd| = |exact|, bounded by the "
                                  "finite differences' own error alone (l2 ");
  g_assert_nonnull (note);
  double bound = g_ascii_strtod (strstr (note, "(l2 ") + 4, NULL);
  g_assert_cmpfloat (number, >, 0);
  g_assert_cmpfloat (number, <=, bound);
  /* the lr row still relative, with no "fd 0" of its own */
  g_autofree char *lr_row = check_row (out, "lr ");
  g_assert_null (strstr (lr_row, "fd 0"));
  return number;
}

/* A group whose finite differences are all exactly 0: at L2 1e-12 the
 * steps (1e-7 on log λ) move λ by 1e-19, whose effect on the weights is
 * below their rounding, so f(θ ± h) are the same number. The row printed
 * "inf ok (fd noise)", an error relative to 0. It now prints the absolute
 * difference, |exact|, against the finite differences' own error. The
 * reference for that number: the hypergradient on log λ is λ ∂f/∂λ, and
 * ∂f/∂λ does not change between λ = 1e-12 and 2e-12 (to about 1e-12), so
 * the number doubles. */
static void
test_check_fd_zero (void)
{
  if (!have_fashion_mnist ())
    return;
  double at_1 = check_fd_zero_number ("1e-12"), at_2 = check_fd_zero_number ("2e-12");
  g_assert_cmpfloat_with_epsilon (at_2 / at_1, 2, 0.03);   /* each printed to 3 digits */
}

/* --check on its small problem keeps the settings of θ that are given
 * (they were replaced by its per-layer L2 from 1e-3 and learning rate 0.1
 * without a word), and its finite differences check every group: with an L2
 * per input unit (800 values for 784-16-10) the 64 components spread over
 * all of θ all fell in the L2 group and a neighbour, and the unchecked
 * groups printed a relative error of 0, "ok". Per-unit penalties that all
 * start at the per-layer value train the same net, so the learning-rate,
 * momentum and init rows must be those of the per-layer check, where every
 * value of those groups is checked. */
static void
test_check_given_theta (void)
{
  if (!have_fashion_mnist ())
    return;
  g_autofree char *layer = NULL, *neuron = NULL;
  g_assert_cmpint (drmad ((const char *[]){ "--no-gui", "--check", NULL }, NULL, &layer, NULL), ==, 0);
  g_assert_cmpint (drmad ((const char *[]){ "--no-gui", "--check", "--l2-granularity", "neuron", NULL }, NULL, &neuron,
                          NULL), ==, 0);
  g_test_message ("%s%s", layer, neuron);
  g_autofree char *l2_row = check_row (neuron, "l2 ");
  g_assert_nonnull (strstr (l2_row, " 800  "));   /* 784 + 16 input units */
  const char *groups[] = { "lr ", "momentum ", "init " };
  for (guint g = 0; g < G_N_ELEMENTS (groups); g++) {
    g_autofree char *expected = check_row (layer, groups[g]), *got = check_row (neuron, groups[g]);
    g_assert_cmpstr (expected, !=, "");
    g_assert_cmpstr (got, ==, expected);
  }
  /* Starting values given alone: the same table as with the whole small
   * problem spelled out (which keeps everything given). */
  g_autofree char *short_form = NULL, *spelled = NULL;
  g_assert_cmpint (drmad ((const char *[]){ "--no-gui", "--check", "--init-l2", "1e-6", "--init-lr", "0.3", NULL }, NULL,
                          &short_form, NULL), ==, 0);
  g_assert_cmpint (drmad ((const char *[]){ "--no-gui", "--check", "--init-l2", "1e-6", "--init-lr", "0.3", "--layers",
                                            "784,16,10", "--activation", "tanh", "--batch", "20", "--train-size", "300",
                                            "--val-size", "200", "--test-size", "1", "--iters", "40", "--segments", "2",
                                            "--learn", "l2,lr,momentum,init", NULL }, NULL, &spelled, NULL), ==, 0);
  g_test_message ("%s%s", short_form, spelled);
  g_assert_cmpstr (short_form, ==, spelled);
  g_assert_cmpstr (short_form, !=, layer);
}

/* A shortcut that diverges is what --check is there to show, not a failure
 * of the check: on 784-6-10 ReLU at learning rate 0.3, T = 300, the exact
 * hypergradient agrees with central differences of the validation loss
 * (a separate float64 program through the library: 2e-8 relative for the
 * learning rates, 6e-6 for L2, with steps 1e-7 and 2e-7), while the full
 * DrMAD line (R = T) and one piece are stopped by the ‖dw‖ watch near step
 * 28. The check printed only the watch's message and exited 1, as when
 * exact misses; now their columns say "diverged" and exact decides. */
static void
test_check_shortcut_diverges (void)
{
  if (!have_fashion_mnist ())
    return;
  g_autofree char *out = NULL, *err = NULL;
  int status = drmad ((const char *[]){ "--no-gui", "--check", "--layers", "784,6,10", "--activation", "relu", "--iters",
                                        "300", "--batch", "20", "--train-size", "200", "--val-size", "100", "--test-size",
                                        "1", "--segments", "2", "--learn", "l2,lr", "--init-lr", "0.3",
                                        "--reverse-steps", "300", "--snapshots", "1", NULL }, NULL, &out, &err);
  g_test_message ("%s%s", out, err);
  g_assert_cmpint (status, ==, 0);
  g_assert_nonnull (strstr (out, "check passed"));
  g_autofree char *l2_row = check_row (out, "l2 "), *lr_row = check_row (out, "lr ");
  g_assert_nonnull (strstr (l2_row, " ok ("));
  g_assert_nonnull (strstr (lr_row, " ok ("));
  g_assert_nonnull (strstr (l2_row, "diverged"));
  g_assert_nonnull (strstr (out, "\nDrMAD: the reverse pass diverged at step"));
  g_assert_nonnull (strstr (out, "\npiecewise: the reverse pass diverged at step"));
}

/* In a locale that writes 0,5 (de_DE) the --check table and its messages
 * still write 0.5, as every other line the program prints. */
static void
test_check_decimal_comma (void)
{
  if (!have_fashion_mnist ())
    return;
  g_autofree char *dir = test_tmp_dir ("drmad-cli", NULL);
  g_auto (GStrv) env = decimal_comma_environ (dir);
  if (!env) {
    remove_tree (dir);
    return;
  }
  const char *argv[] = { g_getenv ("DRMAD_BIN"), "--no-gui", "--check", "--layers", "784,4,10", "--iters", "4",
                         "--train-size", "100", "--val-size", "50", "--test-size", "10", "--segments", "2", NULL };
  g_autofree char *out = NULL, *err = NULL;
  int wait_status;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, env, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &wait_status, NULL));
  g_test_message ("%s%s", out, err);
  g_assert_true (g_spawn_check_wait_status (wait_status, NULL));
  g_assert_nonnull (strstr (out, "check passed"));
  g_autoptr (GRegex) comma = g_regex_new ("[0-9],[0-9]", 0, 0, NULL);
  g_assert_false (g_regex_match (comma, out, 0, NULL));
  g_assert_false (g_regex_match (comma, err, 0, NULL));
  g_autoptr (GRegex) point = g_regex_new ("[0-9]\\.[0-9]", 0, 0, NULL);
  g_assert_true (g_regex_match (point, out, 0, NULL));
  remove_tree (dir);
}

/* Output that cannot be written (a full disk: /dev/full) is a failure in
 * every mode that writes to standard output, --help's included: status 1
 * and one line on stderr, not status 0 with the text lost. */
static void
test_stdout_full (void)
{
  if (!g_file_test ("/dev/full", G_FILE_TEST_EXISTS)) {
    g_test_skip ("no /dev/full");
    return;
  }
  const char *const *modes[] = {
    (const char *[]){ "--version", NULL },
    (const char *[]){ "--help", NULL },
    (const char *[]){ "--help-all", NULL },
    (const char *[]){ "--list-devices", NULL },
    (const char *[]){ "--no-gui", "--check", "--layers", "784,4,10", "--iters", "4", "--train-size", "100",
                      "--val-size", "50", "--test-size", "10", "--segments", "2", NULL },
  };
  for (guint i = 0; i < G_N_ELEMENTS (modes); i++) {
    if (i == 4 && !have_fashion_mnist ())
      continue;
    g_autoptr (GPtrArray) argv = g_ptr_array_new ();
    g_ptr_array_add (argv, (gpointer) g_getenv ("DRMAD_BIN"));
    for (const char *const *a = modes[i]; *a; a++)
      g_ptr_array_add (argv, (gpointer) *a);
    g_ptr_array_add (argv, NULL);
    g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDERR_PIPE);
    g_subprocess_launcher_set_stdout_file_path (launcher, "/dev/full");
    g_autoptr (GError) error = NULL;
    g_autoptr (GSubprocess) process = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata,
                                                                    &error);
    g_assert_no_error (error);
    g_autofree char *err = NULL;
    g_assert_true (g_subprocess_communicate_utf8 (process, NULL, NULL, NULL, &err, &error));
    g_assert_no_error (error);
    g_test_message ("%s: %s", modes[i][0], err);
    g_assert_true (g_subprocess_get_if_exited (process));
    g_assert_cmpint (g_subprocess_get_exit_status (process), ==, 1);
    g_assert_nonnull (strstr (err, "cannot write to standard output"));
  }
}

/* A test set of another shape or pixel count is refused with exit status 2
 * and without the split-size hint, which only sizes that do not fit get; a
 * folder in place of the training images is named as one. */
static void
test_dataset_messages (void)
{
  g_autofree char *dir = test_tmp_dir ("drmad-cli-data", NULL);
  const char *model[] = { "--no-gui", "--dataset", dir, "--layers", "35,4,3", "--iters", "8", "--batch", "10",
                          "--meta-iters", "0", "--val-size", "20", NULL };
  write_idx_pair (dir, "train", 100, 5, 7);
  write_idx_pair (dir, "t10k", 30, 7, 5);
  g_autofree char *turned = NULL;
  g_assert_cmpint (drmad (model, (const char *[]){ "--train-size", "60", NULL }, NULL, &turned), ==, 2);
  g_assert_nonnull (strstr (turned, "t10k-images-idx3-ubyte"));
  g_assert_nonnull (strstr (turned, "train-images-idx3-ubyte"));
  g_assert_nonnull (strstr (turned, "7 × 5 × 1"));
  g_assert_nonnull (strstr (turned, "5 × 7 × 1"));
  g_assert_null (strstr (turned, "--train-size"));

  write_idx_pair (dir, "t10k", 30, 6, 7);
  g_autofree char *wider = NULL;
  g_assert_cmpint (drmad (model, (const char *[]){ "--train-size", "60", NULL }, NULL, &wider), ==, 2);
  g_assert_nonnull (strstr (wider, "42 features"));
  g_assert_null (strstr (wider, "--train-size"));

  write_idx_pair (dir, "t10k", 30, 5, 7);
  g_autofree char *too_many = NULL;
  g_assert_cmpint (drmad (model, (const char *[]){ "--train-size", "90", NULL }, NULL, &too_many), ==, 2);
  g_assert_nonnull (strstr (too_many, "holds 100"));
  g_assert_nonnull (strstr (too_many, "--train-size"));

  /* a folder where the training images should be is named as such */
  g_autofree char *images = g_build_filename (dir, "train-images-idx3-ubyte", NULL);
  g_assert_cmpint (g_unlink (images), ==, 0);
  g_assert_cmpint (g_mkdir (images, 0755), ==, 0);
  g_autofree char *folder = NULL;
  g_assert_cmpint (drmad (model, (const char *[]){ "--train-size", "60", NULL }, NULL, &folder), ==, 2);
  g_assert_nonnull (strstr (folder, "train-images-idx3-ubyte: is a folder"));
  remove_tree (dir);
}

/* A dataset smaller than the default sizes: the refusal gives sizes that
 * fit, and those sizes run. One message for all of them, also when the
 * folder has no test set of its own and --test-size is left at 0. */
static void
test_small_dataset_sizes (void)
{
  g_autofree char *dir = test_tmp_dir ("drmad-cli-small", NULL);
  write_idx_pair (dir, "train", 100, 5, 7);
  const char *model[] = { "--no-gui", "--dataset", dir, "--layers", "35,4,3", "--iters", "8", "--batch", "10",
                          "--meta-iters", "0", NULL };
  g_autofree char *err = NULL;
  g_assert_cmpint (drmad (model, NULL, NULL, &err), ==, 2);
  g_assert_nonnull (strstr (err, "no test set of its own"));
  g_assert_nonnull (strstr (err, "for example --train-size 0 --val-size 20 --test-size 20"));
  g_assert_nonnull (strstr (err, "holds 100 examples"));
  g_assert_nonnull (strstr (err, "the 60 left"));
  g_autofree char *out = NULL;
  g_assert_cmpint (drmad (model, (const char *[]){ "--train-size", "0", "--val-size", "20", "--test-size", "20",
                                                   NULL }, &out, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "test_error"));

  /* sizes that fit except --train-size: only that one to change */
  g_autofree char *train_err = NULL;
  g_assert_cmpint (drmad (model, (const char *[]){ "--val-size", "30", "--test-size", "10", NULL }, NULL,
                          &train_err), ==, 2);
  g_assert_nonnull (strstr (train_err, "for example --train-size 0: "));
  g_assert_nonnull (strstr (train_err, "the 60 left"));

  /* two examples cannot make three splits */
  g_autofree char *tiny = g_build_filename (dir, "tiny", NULL);
  g_assert_cmpint (g_mkdir (tiny, 0755), ==, 0);
  write_idx_pair (tiny, "train", 2, 5, 7);
  const guint8 two_labels[] = { 0, 0, 8, 1, 0, 0, 0, 2, 0, 1 };   /* labels 0 and 1 */
  g_autofree char *tiny_labels = g_build_filename (tiny, "train-labels-idx1-ubyte", NULL);
  g_assert_true (g_file_set_contents (tiny_labels, (const char *) two_labels, sizeof two_labels, NULL));
  g_autofree char *tiny_err = NULL;
  const char *tiny_model[] = { "--no-gui", "--dataset", tiny, "--layers", "35,4,3", "--meta-iters", "0", NULL };
  g_assert_cmpint (drmad (tiny_model, NULL, NULL, &tiny_err), ==, 2);
  g_assert_nonnull (strstr (tiny_err, "holds 2 examples, too few"));
  remove_tree (dir);
}

/* A folder of one class (here a PNG folder with one class subfolder, and
 * IDX labels all equal) is refused, exit status 2, rather than trained on:
 * the suggested --layers used to be N,100,1, itself refused. */
static void
test_one_class (void)
{
  g_autofree char *dir = test_tmp_dir ("drmad-cli-one-class", NULL);
  g_autofree char *cls = g_build_filename (dir, "cats", NULL);
  g_assert_cmpint (g_mkdir (cls, 0755), ==, 0);
  guint8 pixels[4 * 3];
  for (guint i = 0; i < 10; i++) {
    for (guint p = 0; p < sizeof pixels; p++)
      pixels[p] = (guint8) (i * 31 + p * 7);
    g_autofree char *name = g_strdup_printf ("%u.png", i);
    g_autofree char *file = g_build_filename (cls, name, NULL);
    png_image image = { .version = PNG_IMAGE_VERSION, .width = 4, .height = 3, .format = PNG_FORMAT_GRAY };
    g_assert_true (png_image_write_to_file (&image, file, 0, pixels, 0, NULL));
  }
  const char *model[] = { "--no-gui", "--dataset", dir, "--layers", "12,4,2", "--iters", "8", "--batch", "2",
                          "--meta-iters", "0", "--train-size", "0", "--val-size", "2", "--test-size", "2", NULL };
  g_autofree char *err = NULL;
  g_assert_cmpint (drmad (model, NULL, NULL, &err), ==, 2);
  g_assert_nonnull (strstr (err, "all 10 examples have the same label (0)"));
  g_assert_nonnull (strstr (err, dir));

  g_autofree char *idx = g_build_filename (dir, "idx", NULL);
  g_assert_cmpint (g_mkdir (idx, 0755), ==, 0);
  write_idx_pair (idx, "train", 20, 5, 7);
  guint8 labels[8 + 20];
  guint32 header[2] = { GUINT32_TO_BE (0x801), GUINT32_TO_BE (20) };
  memcpy (labels, header, 8);
  memset (labels + 8, 2, 20);
  g_autofree char *label_path = g_build_filename (idx, "train-labels-idx1-ubyte", NULL);
  g_assert_true (g_file_set_contents (label_path, (const char *) labels, sizeof labels, NULL));
  const char *idx_model[] = { "--no-gui", "--dataset", idx, "--layers", "35,4,3", "--iters", "8", "--batch", "2",
                              "--meta-iters", "0", "--train-size", "0", "--val-size", "2", "--test-size", "2", NULL };
  g_autofree char *idx_err = NULL;
  g_assert_cmpint (drmad (idx_model, NULL, NULL, &idx_err), ==, 2);
  g_assert_nonnull (strstr (idx_err, "all 20 examples have the same label (2)"));
  remove_tree (dir);
}

/* One stray label (200 among 0 to 2) asks for 201 outputs; the message says
 * that only 4 of those values occur. Labels that use every value get no note. */
static void
test_stray_label (void)
{
  g_autofree char *dir = test_tmp_dir ("drmad-cli-stray-label", NULL);
  write_idx_pair (dir, "train", 30, 5, 7);
  guint8 labels[8 + 30];
  guint32 header[2] = { GUINT32_TO_BE (0x801), GUINT32_TO_BE (30) };
  memcpy (labels, header, 8);
  for (guint i = 0; i < 30; i++)
    labels[8 + i] = i % 3;
  labels[8 + 29] = 200;
  g_autofree char *label_path = g_build_filename (dir, "train-labels-idx1-ubyte", NULL);
  g_assert_true (g_file_set_contents (label_path, (const char *) labels, sizeof labels, NULL));
  const char *model[] = { "--no-gui", "--dataset", dir, "--layers", "35,4,3", "--meta-iters", "0",
                          "--train-size", "0", "--val-size", "5", "--test-size", "5", NULL };
  g_autofree char *err = NULL;
  g_assert_cmpint (drmad (model, NULL, NULL, &err), ==, 2);
  g_assert_nonnull (strstr (err, "at least 201 outputs"));
  /* 0, 1, 2 and 200 where the permutation put the stray one into training or validation; else 3 */
  g_assert_true (strstr (err, "only 4 of the values 0 to 200 occur") || strstr (err, "only 3 of the values 0 to 200 occur"));

  labels[8 + 29] = 3;
  g_assert_true (g_file_set_contents (label_path, (const char *) labels, sizeof labels, NULL));
  g_autofree char *plain = NULL;
  g_assert_cmpint (drmad (model, NULL, NULL, &plain), ==, 2);
  g_assert_nonnull (strstr (plain, "at least 4 outputs"));
  g_assert_null (strstr (plain, "occur"));
  remove_tree (dir);
}

static int
drmad_with_env (const char *key, const char *value, const char *const *base, const char *const *extra, char **err)
{
  extra_env_key = key;
  extra_env_value = value;
  int status = drmad (base, extra, NULL, err);
  extra_env_key = extra_env_value = NULL;
  return status;
}

/* A device named by $DRMAD_DEVICE that does not exist: exit status 2, the
 * variable named and how to list the devices; the same value given to
 * --device is not said to come from the environment. */
static void
test_device_from_environment (void)
{
  g_autofree char *dir = test_tmp_dir ("drmad-cli-device", NULL);
  write_idx_pair (dir, "train", 100, 5, 7);
  const char *model[] = { "--no-gui", "--dataset", dir, "--layers", "35,4,3", "--iters", "8", "--batch", "10",
                          "--meta-iters", "0", "--train-size", "60", "--val-size", "20", "--test-size", "20", NULL };
  g_autofree char *from_environment = NULL, *from_option = NULL;
  g_assert_cmpint (drmad_with_env ("DRMAD_DEVICE", "quantum-annealer-9000", model, NULL, &from_environment), ==, 2);
  g_assert_nonnull (strstr (from_environment, "quantum-annealer-9000"));
  g_assert_nonnull (strstr (from_environment, "DRMAD_DEVICE"));
  g_assert_nonnull (strstr (from_environment, "drmad --list-devices"));
  g_assert_cmpint (drmad (model, (const char *[]){ "--device", "quantum-annealer-9000", NULL }, NULL, &from_option), ==, 2);
  g_assert_nonnull (strstr (from_option, "quantum-annealer-9000"));
  g_assert_null (strstr (from_option, "DRMAD_DEVICE"));
  remove_tree (dir);
}

/* OpenBLAS's kernels older than the CPU allows (OPENBLAS_CORETYPE=Prescott
 * on a CPU with AVX or more): --list-devices says so in its "warning:"
 * line, and not on stderr as well, where the same sentence came first. */
static void
test_list_devices_blas_warning_once (void)
{
  if (g_getenv ("DRMAD_DEVICE") && *g_getenv ("DRMAD_DEVICE")) {
    g_test_skip ("DRMAD_DEVICE is set: the device may not be a CPU one, whose GEMMs load OpenBLAS");
    return;
  }
  g_autofree char *out = NULL, *err = NULL;
  const char *const list[] = { "--list-devices", NULL };
  g_assert_cmpint (run_drmad (list, NULL, "OPENBLAS_CORETYPE", "Prescott", &out, &err), ==, 0);
  g_test_message ("stdout:\n%s\nstderr:\n%s", out, err);
  if (!strstr (out, "\nwarning: the BLAS kernels Prescott")) {
    g_test_skip ("OpenBLAS's Prescott kernels are not older than this CPU allows (or it has no such core)");
    return;
  }
  g_assert_null (strstr (err, "older than this CPU allows"));
}

/* The host step's line says why its GEMMs are on the BLAS: DRMAD_SMALL_GEMM=0
 * asked for it (its line named the variable alone, as on a CPU without
 * AVX-512 where it cannot turn drmad's kernels on). A value it does not
 * know is warned of (DRMAD_SMALL_GEMM=off ran drmad's kernels without a
 * word). */
static void
test_list_devices_gemm_kernels_why (void)
{
  g_autofree char *out = NULL;
  const char *const list[] = { "--list-devices", NULL };
  g_assert_cmpint (run_drmad (list, NULL, "DRMAD_SMALL_GEMM", "0", &out, NULL), ==, 0);
  g_test_message ("%s", out);
  if (strstr (out, "BLAS: not available")) {
    g_test_skip ("no OpenBLAS: --list-devices has no host step line");
    return;
  }
  g_assert_nonnull (strstr (out, "its single-precision GEMMs on the BLAS (DRMAD_SMALL_GEMM=0)\n"));
  /* and why the team always runs there: a choice by timing would move the numbers */
  if (!g_getenv ("DRMAD_HOST_THREADS") && drmad_host_step_threads (100) > 1)
    g_assert_nonnull (strstr (out, "(DRMAD_HOST_THREADS unset: every step shared, as on the BLAS a choice by timing "
                                   "would move the numbers; "));
  /* a value it does not know ("off" for the BLAS) said so, not taken silently for drmad's widest kernels */
  g_autofree char *off_out = NULL, *off_err = NULL;
  g_assert_cmpint (run_drmad (list, NULL, "DRMAD_SMALL_GEMM", "off", &off_out, &off_err), ==, 0);
  g_test_message ("stdout:\n%s\nstderr:\n%s", off_out, off_err);
  g_assert_nonnull (strstr (off_err, "DRMAD_SMALL_GEMM=off: expected 0 (the BLAS), avx2 or avx512; using "));
}

/* On a CPU without AVX-512 (the test hook DRMAD_INJECT_NO_AVX512 makes
 * drmad take this one for such a CPU): OpenBLAS's AVX2 core chosen by drmad
 * (Zen on AMD, Haswell on others), no warning, and the host step's line
 * says its GEMMs run on drmad's own AVX2 kernels, whose numbers let its
 * threads be chosen by timing, and that DRMAD_HOST_THREADS is unset; with
 * the variable set, its value. */
static void
test_list_devices_without_avx512 (void)
{
#ifndef DRMAD_TEST_HOOKS
  g_test_skip ("built without -Dtest_hooks=true: no way to hide AVX-512");
#else
  if (g_getenv ("OPENBLAS_CORETYPE") || g_getenv ("DRMAD_HOST_THREADS") || g_getenv ("DRMAD_SMALL_GEMM")) {
    g_test_skip ("OPENBLAS_CORETYPE, DRMAD_HOST_THREADS or DRMAD_SMALL_GEMM is set: drmad does not choose");
    return;
  }
  g_autofree char *plain = NULL, *out = NULL, *err = NULL;
  const char *const list[] = { "--list-devices", NULL };
  /* the CPU's own features, from the list without the hook */
  g_assert_cmpint (run_drmad (list, NULL, NULL, NULL, &plain, NULL), ==, 0);
  const char *blas = strstr (plain, "BLAS: ");
  if (!blas || g_str_has_prefix (blas, "BLAS: not available") || !strstr (blas, " fma ") || !strstr (blas, " avx2")) {
    g_test_skip ("no OpenBLAS, or a CPU without AVX2 and FMA");
    return;
  }
  g_assert_cmpint (run_drmad (list, NULL, "DRMAD_INJECT_NO_AVX512", "1", &out, &err), ==, 0);
  g_test_message ("stdout:\n%s\nstderr:\n%s", out, err);
  g_assert_nonnull (strstr (out, " avx2 (widest avx2)"));
  g_assert_true (strstr (out, "kernels Zen (avx2) chosen by drmad") || strstr (out, "kernels Haswell (avx2) chosen by drmad"));
  g_assert_null (strstr (strstr (out, "BLAS: "), "avx512"));   /* above it, PoCL's device name may say it */
  g_assert_null (strstr (out, "\nwarning:"));
  g_assert_nonnull (strstr (out, "its single-precision GEMMs on drmad's own avx2 kernels (DRMAD_SMALL_GEMM)\n"));
  /* the variable unset, said so (a bare "(DRMAD_HOST_THREADS;" read as set) */
  gboolean team = drmad_host_step_threads (100) > 1;   /* as the program works it out */
  g_assert_nonnull (strstr (out, team ? "host step: up to " : "host step: 1 thread "));
  g_assert_nonnull (strstr (out, team ? "(DRMAD_HOST_THREADS unset: single-precision steps shared or alone as they "
                                        "time faster; "
                                      : "(DRMAD_HOST_THREADS unset; "));
  /* set, its value */
  g_autofree char *given = NULL;
  g_assert_cmpint (run_drmad (list, NULL, "DRMAD_HOST_THREADS", "1", &given, NULL), ==, 0);
  g_assert_nonnull (strstr (given, "host step: 1 thread per training and reverse step at batch 100 "
                                   "(DRMAD_HOST_THREADS=1; "));
#endif
}

/* The largest allocation of the devices drmad lists, in bytes (0 when there is none). */
static double
max_alloc_bytes (void)
{
  g_autoptr (GPtrArray) list = drmad_device_list (NULL);
  double largest = 0;
  for (guint i = 0; list && i < list->len; i++)
    largest = MAX (largest, (double) ((DrmadDeviceInfo *) list->pdata[i])->max_alloc_bytes);
  return largest;
}

/* No platform, a kernel that fails to build, an array larger
 * than the device allows, a method that needs more memory than there is:
 * each a clear line and exit status 2 (1 for --list-devices), nothing created. */
static void
test_device_faults (void)
{
  if (!have_fashion_mnist ())
    return;
  g_autofree char *empty = test_tmp_dir ("drmad-no-icd", NULL);
  g_autofree char *err1 = NULL, *err2 = NULL, *err3 = NULL, *err4 = NULL, *err5 = NULL;
  g_assert_cmpint (drmad_with_env ("OCL_ICD_VENDORS", empty, (const char *[]){ "--list-devices", NULL }, NULL, &err1), ==, 1);
  g_assert_nonnull (strstr (err1, "pocl-opencl-icd"));
  /* An unusable kernel cache (a file where the folder should be) is named, with what to set. */
  g_autofree char *not_a_folder = g_build_filename (empty, "cache-file", NULL);
  g_assert_true (g_file_set_contents (not_a_folder, "x", 1, NULL));
  g_autofree char *cache_err = NULL;
  drmad_with_env ("POCL_CACHE_DIR", not_a_folder, (const char *[]){ "--list-devices", NULL }, NULL, &cache_err);
  g_assert_nonnull (strstr (cache_err, "set POCL_CACHE_DIR"));
  g_unlink (not_a_folder);
  g_assert_cmpint (drmad_with_env ("OCL_ICD_VENDORS", empty, small, (const char *[]){ "--meta-iters", "1", NULL }, &err2), ==, 2);
  g_assert_nonnull (strstr (err2, "no OpenCL platform"));
  g_autofree char *out_dir = g_build_filename (empty, "run", NULL);
#ifdef DRMAD_TEST_HOOKS
  g_assert_cmpint (drmad_with_env ("DRMAD_INJECT_BUILD_FAILURE", "1", small,
                                   (const char *[]){ "--meta-iters", "1", "--out", out_dir, NULL }, &err3), ==, 2);
  g_assert_nonnull (strstr (err3, "build log"));
#endif
  /* W_1 of 784 × 5 000 000 floats (15.7 GB; the net's 3.97e9 parameters
   * are within the 2³² − 1 lib/net.c takes): larger than the largest
   * allocation of any device whose limit is under half of that. */
  double alloc = max_alloc_bytes (), array = 784.0 * 5000000 * sizeof (float);
  g_assert_cmpfloat (alloc, >, 0);
  if (alloc < array / 2) {
    g_assert_cmpint (drmad (small, (const char *[]){ "--layers", "784,5000000,10", "--out", out_dir, NULL }, NULL, &err4),
                     ==, 2);
    g_assert_nonnull (strstr (err4, "largest allocation"));
  } else
    g_test_message ("the device's largest allocation (%.3g bytes) takes every array of a net within the parameter "
                    "limit: its refusal not checked", alloc);
  g_assert_cmpint (drmad (small, (const char *[]){ "--iters", "200000", "--method", "exact", "--checkpoint-every", "1",
                                                    "--out", out_dir, NULL }, NULL, &err5), ==, 2);
  /* the device's free memory, or on a CPU device what this process may still take where that is less */
  g_assert_true (strstr (err5, "free of") || strstr (err5, "is a CPU device, whose memory is the host's, and this "
                                                          "process may take"));
  g_assert_false (g_file_test (out_dir, G_FILE_TEST_EXISTS));  /* refused before anything was made */
  g_rmdir (empty);
}

/* A tiny run's folder DIR/run, its IDX data in DIR/data (35 features, 3
 * classes, write_small_idx) and its options (SMALL_IDX_OPTIONS); FALSE,
 * the test skipped, without an OpenCL device. */
#define SMALL_IDX_OPTIONS(data) { "--no-gui", "--dataset", (data), "--layers", "35,4,3", "--train-size", "60", \
                                  "--val-size", "20", "--test-size", "20", "--iters", "6", "--batch", "10", NULL }

static gboolean
small_idx_setup (char **dir, char **data, char **folder)
{
  g_autoptr (GPtrArray) devices = drmad_device_list (NULL);
  if (!devices || devices->len == 0) {
    g_test_skip ("no OpenCL device");
    return FALSE;
  }
  *dir = test_tmp_dir ("drmad-cli", NULL);
  *data = g_build_filename (*dir, "data", NULL);
  *folder = g_build_filename (*dir, "run", NULL);
  g_mkdir (*data, 0755);
  write_small_idx (*data, 300);
  return TRUE;
}

/* A meta-iteration recorded (checkpoint, history.csv) whose plots cannot be
 * written (a full disk; here a folder where lr.png goes): the message says
 * the run folder holds it, as --resume then finds, not the one before. */
static void
test_plot_write_failure (void)
{
  g_autofree char *dir = NULL, *data = NULL, *folder = NULL;
  if (!small_idx_setup (&dir, &data, &folder))
    return;
  const char *options[] = SMALL_IDX_OPTIONS (data);
  g_assert_cmpint (drmad (options, (const char *[]){ "--meta-iters", "1", "--out", folder, NULL }, NULL, NULL), ==, 0);
  g_autofree char *lr_png = g_build_filename (folder, "lr.png", NULL);
  g_assert_cmpint (g_unlink (lr_png), ==, 0);
  g_assert_cmpint (g_mkdir (lr_png, 0755), ==, 0);
  g_autofree char *err = NULL;
  g_assert_cmpint (drmad ((const char *[]){ "--no-gui", "--resume", folder, "--meta-iters", "3", NULL }, NULL, NULL,
                          &err), ==, 1);
  g_assert_nonnull (strstr (err, "lr.png"));
  /* what the folder holds: its meta-iteration rows */
  g_autofree char *history = read_text (folder, "history.csv");
  g_auto (GStrv) lines = g_strsplit (history, "\n", -1);
  guint rows = 0;
  for (guint i = 1; lines[i]; i++)
    rows += g_ascii_isdigit (lines[i][0]);
  g_assert_cmpuint (rows, ==, 2);
  g_autofree char *kept = g_strdup_printf ("everything up to meta-iteration %u is in %s", rows, folder);
  g_assert_nonnull (strstr (err, kept));
  g_assert_cmpint (g_rmdir (lr_png), ==, 0);
  g_autofree char *out = NULL;
  g_free (err);
  err = NULL;
  g_assert_cmpint (drmad ((const char *[]){ "--no-gui", "--resume", folder, "--meta-iters", "3", NULL }, NULL, &out,
                          &err), ==, 0);
  g_autofree char *resumed = g_strdup_printf ("resuming %s after meta-iteration %u", folder, rows);
  g_assert_nonnull (strstr (err, resumed));
  remove_tree (dir);
}

/* --meta-iters 0 trains once and keeps no run folder: with --out, or with
 * --resume (which trained the starting values, the run's state unread),
 * it is refused with status 2, nothing made and the run left as it was. */
static void
test_train_once_with_folder (void)
{
  g_autofree char *dir = NULL, *data = NULL, *folder = NULL;
  if (!small_idx_setup (&dir, &data, &folder))
    return;
  g_autofree char *other = g_build_filename (dir, "other", NULL);
  const char *options[] = SMALL_IDX_OPTIONS (data);
  g_autofree char *err = NULL;
  g_assert_cmpint (drmad (options, (const char *[]){ "--meta-iters", "0", "--out", other, NULL }, NULL, &err), ==, 2);
  g_assert_nonnull (strstr (err, "--meta-iters 0 and --out"));
  g_assert_false (g_file_test (other, G_FILE_TEST_EXISTS));
  g_assert_cmpint (drmad (options, (const char *[]){ "--meta-iters", "2", "--out", folder, NULL }, NULL, NULL), ==, 0);
  const char *files[] = { "run.ini", "history.csv", "hyper.csv", "checkpoint.bin" };
  char *before[G_N_ELEMENTS (files)];
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    before[i] = read_text (folder, files[i]);
  g_free (err);
  err = NULL;
  g_assert_cmpint (drmad ((const char *[]){ "--no-gui", "--resume", folder, "--meta-iters", "0", NULL }, NULL, NULL,
                          &err), ==, 2);
  g_assert_nonnull (strstr (err, "--meta-iters 0 and --resume"));
  for (guint i = 0; i < G_N_ELEMENTS (files); i++) {
    g_autofree char *after = read_text (folder, files[i]);
    g_assert_cmpstr (after, ==, before[i]);
    g_free (before[i]);
  }
  remove_tree (dir);
}

/* The method line names the method once: "method: exact k=2, as asked"
 * (it read "method: method exact …"), and "method: auto chose …", with
 * the memory budget in the units it was given in. */
static void
test_method_line (void)
{
  g_autofree char *dir = NULL, *data = NULL, *folder = NULL;
  if (!small_idx_setup (&dir, &data, &folder))
    return;
  const char *options[] = SMALL_IDX_OPTIONS (data);
  g_autofree char *err = NULL;
  g_assert_cmpint (drmad (options, (const char *[]){ "--meta-iters", "1", "--method", "exact", "--out", folder, NULL },
                          NULL, &err), ==, 0);
  g_assert_nonnull (strstr (err, "\nmethod: exact k="));
  g_assert_null (strstr (err, "method: method"));
  g_free (g_steal_pointer (&err));
  g_assert_cmpint (drmad (options, (const char *[]){ "--meta-iters", "1", "--out", folder, "--force", NULL },
                          NULL, &err), ==, 0);
  g_assert_nonnull (strstr (err, "\nmethod: auto chose exact"));
  /* A budget reads back in the units it is given in (powers of 1024): 3M
   * and 3MiB are 3.0 MiB, not "3.1 MB" (GLib puts a no-break space before
   * the unit). */
  const char *const budgets[] = { "3M", "3MiB", "3072K" };
  for (guint i = 0; i < G_N_ELEMENTS (budgets); i++) {
    g_free (g_steal_pointer (&err));
    g_assert_cmpint (drmad (options, (const char *[]){ "--meta-iters", "1", "--out", folder, "--force",
                                                       "--memory-budget", budgets[i], NULL }, NULL, &err), ==, 0);
    g_assert_nonnull (strstr (err, "it fits the memory budget (3.0\u00a0MiB)"));
  }
  remove_tree (dir);
}

/* With more than 64 values θ is not printed in full: the best line names
 * where to find it, and for the values the run started from (a meta
 * learning rate of 5 makes meta-iteration 2 far worse) no hyper.csv row. */
static void
test_best_line_many_values (void)
{
  g_autofree char *dir = NULL, *data = NULL, *folder = NULL;
  if (!small_idx_setup (&dir, &data, &folder))
    return;
  const char *options[] = SMALL_IDX_OPTIONS (data);
  g_autofree char *out = NULL;
  g_assert_cmpint (drmad (options, (const char *[]){ "--l2-granularity", "weight", "--meta-iters", "2", "--meta-lr", "5",
                                                     "--out", folder, NULL }, &out, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "learned … 160 values in all: see hyper.csv"));   /* 152 L2 + 2 × 4 lr */
  g_assert_nonnull (strstr (out, "best: measured by meta-iteration 1, the values the run started from"));
  g_assert_null (strstr (out, "iteration 0"));
  remove_tree (dir);
}

/* --resume with the options that made the run, given again: the same
 * values are no change, and the run continues; a value that differs is
 * refused, naming the run's. */
static void
test_resume_same_options (void)
{
  g_autofree char *dir = NULL, *data = NULL, *folder = NULL;
  if (!small_idx_setup (&dir, &data, &folder))
    return;
  const char *options[] = SMALL_IDX_OPTIONS (data);
  g_assert_cmpint (drmad (options, (const char *[]){ "--meta-iters", "1", "--out", folder, NULL }, NULL, NULL), ==, 0);
  g_autofree char *err = NULL;
  g_assert_cmpint (drmad (options, (const char *[]){ "--meta-iters", "2", "--resume", folder, NULL }, NULL, &err), ==,
                   0);
  g_autofree char *resumed = g_strdup_printf ("resuming %s after meta-iteration 1", folder);
  g_assert_nonnull (strstr (err, resumed));
  g_autofree char *history = read_text (folder, "history.csv");
  g_assert_nonnull (strstr (history, "\n2,"));   /* meta-iteration 2's row */
  g_autofree char *refused = NULL;
  g_assert_cmpint (drmad (options, (const char *[]){ "--iters", "8", "--meta-iters", "3", "--resume", folder, NULL },
                          NULL, &refused), ==, 2);
  g_assert_nonnull (strstr (refused, "--iters 8 cannot change when resuming: the run has 6"));
  /* A setting given with its default value where run.ini has it by default. */
  g_autofree char *ini_path = g_build_filename (folder, "run.ini", NULL);
  g_autoptr (GKeyFile) ini = g_key_file_new ();
  g_assert_true (g_key_file_load_from_file (ini, ini_path, G_KEY_FILE_KEEP_COMMENTS, NULL));
  g_assert_true (g_key_file_remove_key (ini, "drmad", "clip", NULL));   /* as a run.ini from before the key */
  g_assert_true (g_key_file_save_to_file (ini, ini_path, NULL));
  g_assert_cmpint (drmad (options, (const char *[]){ "--clip", "0", "--meta-iters", "3", "--resume", folder, NULL },
                          NULL, NULL), ==, 0);
  /* The same values spelt otherwise (run.ini: init-l2=1e-4, learn=l2,lr) are
   * no change either, and run.ini keeps the run's spelling; another number is. */
  g_autofree char *spelt_err = NULL;
  g_assert_cmpint (drmad (options, (const char *[]){ "--init-l2", "0.0001", "--learn", "lr,l2", "--meta-lr", "1.5e-1",
                                                     "--meta-iters", "4", "--resume", folder, NULL }, NULL, &spelt_err),
                   ==, 0);
  g_assert_null (strstr (spelt_err, "cannot change"));
  g_autofree char *ini_text = read_text (folder, "run.ini");
  g_assert_nonnull (strstr (ini_text, "\ninit-l2=1e-4\n"));
  g_assert_nonnull (strstr (ini_text, "\nlearn=l2,lr\n"));
  /* --learn is read as a set (parse_learn): a group named twice, or an
   * empty item, names the same groups; one group fewer or more does not. */
  g_autofree char *repeated_err = NULL;
  g_assert_cmpint (drmad (options, (const char *[]){ "--learn", "lr,l2,lr,", "--meta-iters", "4", "--resume", folder,
                                                     NULL }, NULL, &repeated_err), ==, 0);
  g_assert_null (strstr (repeated_err, "cannot change"));
  g_autofree char *fewer_err = NULL;
  g_assert_cmpint (drmad (options, (const char *[]){ "--learn", "lr,lr", "--meta-iters", "4", "--resume", folder,
                                                     NULL }, NULL, &fewer_err), ==, 2);
  g_assert_nonnull (strstr (fewer_err, "--learn lr,lr cannot change when resuming: the run has l2,lr"));
  g_autofree char *more_err = NULL;
  g_assert_cmpint (drmad (options, (const char *[]){ "--learn", "l2,lr,init", "--meta-iters", "4", "--resume", folder,
                                                     NULL }, NULL, &more_err), ==, 2);
  g_assert_nonnull (strstr (more_err, "--learn l2,lr,init cannot change when resuming: the run has l2,lr"));
  g_autofree char *other_err = NULL;
  g_assert_cmpint (drmad (options, (const char *[]){ "--init-l2", "0.001", "--meta-iters", "4", "--resume", folder,
                                                     NULL }, NULL, &other_err), ==, 2);
  g_assert_nonnull (strstr (other_err, "--init-l2 0.001 cannot change when resuming: the run has 1e-4"));
  remove_tree (dir);
}

/* A run whose data moved (renamed, or the run and its data copied to
 * another machine) resumes with --dataset naming the new place, or with
 * run.ini edited to name it: the checkpoint's MD5 of the data says they are
 * the run's, and the history is an uninterrupted run's. Other data there
 * are refused, naming both. */
static void
test_resume_data_moved (void)
{
  g_autofree char *dir = NULL, *data = NULL, *folder = NULL;
  if (!small_idx_setup (&dir, &data, &folder))
    return;
  const char *options[] = SMALL_IDX_OPTIONS (data);
  g_autofree char *reference = g_build_filename (dir, "reference", NULL);
  g_assert_cmpint (drmad (options, (const char *[]){ "--meta-iters", "3", "--out", reference, NULL }, NULL, NULL), ==,
                   0);
  g_assert_cmpint (drmad (options, (const char *[]){ "--meta-iters", "1", "--out", folder, NULL }, NULL, NULL), ==, 0);
  g_autofree char *moved = g_build_filename (dir, "moved", NULL);
  g_assert_cmpint (g_rename (data, moved), ==, 0);
  g_autofree char *err = NULL;
  g_assert_cmpint (drmad ((const char *[]){ "--no-gui", "--resume", folder, "--dataset", moved, "--meta-iters", "2",
                                            NULL }, NULL, NULL, &err), ==, 0);
  g_assert_nonnull (strstr (err, "the data moved"));
  g_autofree char *ini = read_text (folder, "run.ini");
  g_autofree char *now = g_strdup_printf ("\ndataset=%s\n", moved);
  g_assert_nonnull (strstr (ini, now));   /* a later resume needs no --dataset */
  /* moved again, run.ini edited by hand to say where */
  g_autofree char *ini_path = g_build_filename (folder, "run.ini", NULL);
  g_assert_cmpint (g_rename (moved, data), ==, 0);
  g_autofree char *was = g_strdup_printf ("\ndataset=%s\n", data);
  g_auto (GStrv) around = g_strsplit (ini, now, 2);
  g_autofree char *edited = g_strconcat (around[0], was, around[1], NULL);
  g_assert_true (g_file_set_contents (ini_path, edited, -1, NULL));
  g_assert_cmpint (drmad ((const char *[]){ "--no-gui", "--resume", folder, "--meta-iters", "3", NULL }, NULL, NULL,
                          NULL), ==, 0);
  g_autofree char *expected = history_without_seconds (reference);
  g_autofree char *resumed = history_without_seconds (folder);
  g_assert_cmpstr (resumed, ==, expected);
  g_autofree char *expected_hyper = read_text (reference, "hyper.csv");
  g_autofree char *resumed_hyper = read_text (folder, "hyper.csv");
  g_assert_cmpstr (resumed_hyper, ==, expected_hyper);
  /* other data in the new place: every pixel changed */
  g_autofree char *other = g_build_filename (dir, "other", NULL);
  g_mkdir (other, 0755);
  write_small_idx (other, 300);
  g_autofree char *pixels_path = g_build_filename (other, "train-images-idx3-ubyte", NULL);
  g_autofree char *pixels = NULL;
  gsize length;
  g_assert_true (g_file_get_contents (pixels_path, &pixels, &length, NULL));
  for (gsize i = 16; i < length; i++)
    pixels[i] ^= 1;
  g_assert_true (g_file_set_contents (pixels_path, pixels, length, NULL));
  g_autofree char *before = read_text (folder, "history.csv");
  g_autofree char *refused = NULL;
  g_assert_cmpint (drmad ((const char *[]){ "--no-gui", "--resume", folder, "--dataset", other, "--meta-iters", "4",
                                            NULL }, NULL, NULL, &refused), ==, 2);
  g_assert_nonnull (strstr (refused, "holds other data"));
  g_assert_nonnull (strstr (refused, other));
  g_autofree char *after = read_text (folder, "history.csv");
  g_assert_cmpstr (after, ==, before);
  remove_tree (dir);
}

/* checkpoint.bin's payload as a drmad before the identity wrote it: the
 * identity's length 0 and its bytes gone, in version 6's layout
 * (lib/run.c, checkpoint_payload: 8 header integers) or, @old, in version
 * 5's (5 header integers, 14 counts a record, no cells, θ in every record:
 * a θ this small keeps it in every record). Written with the checkpoint's
 * frame (magic, version, length, payload, CRC-32) as lib/run.c reads it. */
static void
strip_identity (const char *checkpoint, gboolean old)
{
  g_autoptr (GBytes) payload = drmad_checkpoint_read (checkpoint, NULL);
  g_assert_nonnull (payload);
  gsize size;
  const guint8 *bytes = g_bytes_get_data (payload, &size);
  guint64 header[8];
  g_assert_cmpuint (size, >=, sizeof header);
  memcpy (header, bytes, sizeof header);
  g_assert_cmpuint (header[4], >, 0);
  guint64 identity_length = header[4];
  header[4] = 0;
  g_autoptr (GByteArray) stripped = g_byte_array_new ();
  g_byte_array_append (stripped, (const guint8 *) header, (old ? 5 : 8) * sizeof (guint64));
  g_byte_array_append (stripped, bytes + sizeof header, header[0]);
  gsize at = sizeof header + header[0] + identity_length;
  if (!old) {
    g_byte_array_append (stripped, bytes + at, size - at);
    g_autoptr (GBytes) stored = g_byte_array_free_to_bytes (g_steal_pointer (&stripped));
    g_assert_true (drmad_checkpoint_write (checkpoint, stored, NULL));
    return;
  }
  guint64 n = header[2], groups = header[3], cells = header[5];
  for (guint64 i = 0; i < header[1]; i++) {
    const guint8 *r = bytes + at;
    guint64 holds;
    memcpy (&holds, r + 14 * sizeof (guint64), sizeof holds);
    g_assert_cmpuint (holds, ==, 1);
    g_byte_array_append (stripped, r, 14 * sizeof (guint64));   /* the counts but "holds θ" */
    g_byte_array_append (stripped, r + 15 * sizeof (guint64), (7 + 3 + groups) * sizeof (double));
    at += (15 + 7 + 3 + groups + cells) * sizeof (double);
    g_byte_array_append (stripped, bytes + at, n * sizeof (double));
    at += n * sizeof (double);
  }
  g_byte_array_append (stripped, bytes + at, size - at);   /* the start θ */
  g_autoptr (GByteArray) file = g_byte_array_new ();
  guint32 version = 5, crc = crc32 (crc32 (0, NULL, 0), stripped->data, stripped->len);
  guint64 length = stripped->len;
  g_byte_array_append (file, (const guint8 *) "DRMADCK1", 8);
  g_byte_array_append (file, (const guint8 *) &version, sizeof version);
  g_byte_array_append (file, (const guint8 *) &length, sizeof length);
  g_byte_array_append (file, stripped->data, stripped->len);
  g_byte_array_append (file, (const guint8 *) &crc, sizeof crc);
  g_assert_true (g_file_set_contents (checkpoint, (const char *) file->data, file->len, NULL));
}

/* A checkpoint that records no identity (a drmad before it kept one) cannot
 * tell whether the data given with --resume --dataset are the run's: other
 * data are refused, as --dataset was before the data could move. Written
 * so in version 6's layout and in version 5's, each resumes with the run's
 * own data to the history of a run never stopped (a header of the wrong
 * size shifted θ and the state by 24 bytes, CRC-32 valid, and still ran;
 * drmad_meta_load_state() now refuses such a state too). */
static void
test_resume_dataset_without_identity (void)
{
  g_autofree char *dir = NULL, *data = NULL, *folder = NULL;
  if (!small_idx_setup (&dir, &data, &folder))
    return;
  const char *options[] = SMALL_IDX_OPTIONS (data);
  g_autofree char *reference = g_build_filename (dir, "reference", NULL), *old = g_build_filename (dir, "old", NULL);
  g_assert_cmpint (drmad (options, (const char *[]){ "--meta-iters", "2", "--out", reference, NULL }, NULL, NULL),
                   ==, 0);
  g_assert_cmpint (drmad (options, (const char *[]){ "--meta-iters", "1", "--out", folder, NULL }, NULL, NULL), ==, 0);
  g_assert_cmpint (drmad (options, (const char *[]){ "--meta-iters", "1", "--out", old, NULL }, NULL, NULL), ==, 0);
  g_autofree char *checkpoint = g_build_filename (folder, "checkpoint.bin", NULL);
  g_autofree char *old_checkpoint = g_build_filename (old, "checkpoint.bin", NULL);
  g_autofree char *expected_one = history_without_seconds (folder);   /* with its final rows: the best θ's test loss */
  strip_identity (checkpoint, FALSE);
  strip_identity (old_checkpoint, TRUE);
  /* other data (every training pixel changed) in another place */
  g_autofree char *other = g_build_filename (dir, "other", NULL);
  g_mkdir (other, 0755);
  write_small_idx (other, 300);
  g_autofree char *pixels_path = g_build_filename (other, "train-images-idx3-ubyte", NULL);
  g_autofree char *pixels = NULL;
  gsize length;
  g_assert_true (g_file_get_contents (pixels_path, &pixels, &length, NULL));
  for (gsize i = 16; i < length; i++)
    pixels[i] ^= 1;
  g_assert_true (g_file_set_contents (pixels_path, pixels, length, NULL));
  g_autofree char *before = read_text (folder, "history.csv");
  g_autofree char *ini_before = read_text (folder, "run.ini");
  g_autofree char *refused = NULL;
  g_assert_cmpint (drmad ((const char *[]){ "--no-gui", "--resume", folder, "--dataset", other, "--meta-iters", "2",
                                            NULL }, NULL, NULL, &refused), ==, 2);
  g_assert_nonnull (strstr (refused, "--dataset"));
  g_autofree char *after = read_text (folder, "history.csv");
  g_assert_cmpstr (after, ==, before);
  g_autofree char *ini_after = read_text (folder, "run.ini");
  g_assert_cmpstr (ini_after, ==, ini_before);
  /* the old one refuses other data too, as the newer layout */
  g_autofree char *old_refused = NULL;
  g_assert_cmpint (drmad ((const char *[]){ "--no-gui", "--resume", old, "--dataset", other, "--meta-iters", "2",
                                            NULL }, NULL, NULL, &old_refused), ==, 2);
  g_assert_nonnull (strstr (old_refused, "--dataset"));
  /* the run's own data, named as run.ini has them, still resume, as a run
   * never stopped; the version 5 layout too */
  g_autofree char *expected = history_without_seconds (reference);
  g_autofree char *expected_hyper = read_text (reference, "hyper.csv");
  const char *folders[] = { folder, old };
  for (guint f = 0; f < G_N_ELEMENTS (folders); f++) {
    /* evaluated again only: the final rows from the state's best θ */
    g_assert_cmpint (drmad ((const char *[]){ "--no-gui", "--resume", folders[f], "--meta-iters", "1", NULL }, NULL,
                            NULL, NULL), ==, 0);
    g_autofree char *evaluated = history_without_seconds (folders[f]);
    g_assert_cmpstr (evaluated, ==, expected_one);
    g_assert_cmpint (drmad ((const char *[]){ "--no-gui", "--resume", folders[f], "--meta-iters", "2", NULL }, NULL,
                            NULL, NULL), ==, 0);
    g_autofree char *resumed = history_without_seconds (folders[f]);
    g_assert_cmpstr (resumed, ==, expected);
    g_autofree char *resumed_hyper = read_text (folders[f], "hyper.csv");
    g_assert_cmpstr (resumed_hyper, ==, expected_hyper);
  }
  remove_tree (dir);
}

/* --check measures a fresh training at the starting values given; with
 * --resume it ran a check on the run.ini's settings as if they were typed
 * (saying "--check runs in float64 …, not float32" for the run's own
 * precision) and ignored the checkpoint. It is refused, naming both options
 * and the command that checks the run's settings, which then works. */
static void
test_check_with_resume (void)
{
  g_autofree char *dir = NULL, *data = NULL, *folder = NULL;
  if (!small_idx_setup (&dir, &data, &folder))
    return;
  const char *options[] = SMALL_IDX_OPTIONS (data);
  g_assert_cmpint (drmad (options, (const char *[]){ "--meta-iters", "1", "--out", folder, NULL }, NULL, NULL), ==, 0);
  g_autofree char *history_before = read_text (folder, "history.csv");
  g_autofree char *out = NULL, *err = NULL;
  g_assert_cmpint (drmad ((const char *[]){ "--no-gui", "--resume", folder, "--check", NULL }, NULL, &out, &err), ==, 2);
  g_autofree char *refused = g_strdup_printf ("drmad: --check and --resume %s cannot be combined", folder);
  g_autofree char *config = g_build_filename (folder, "run.ini", NULL);
  g_autofree char *instead = g_strdup_printf ("give --check --config %s\n", config);
  g_assert_nonnull (strstr (err, refused));
  g_assert_nonnull (strstr (err, instead));
  g_assert_null (strstr (out, "check:"));
  g_autofree char *history_after = read_text (folder, "history.csv");
  g_assert_cmpstr (history_after, ==, history_before);
  g_autofree char *check_out = NULL;
  g_assert_cmpint (drmad ((const char *[]){ "--no-gui", "--check", "--config", config, NULL }, NULL, &check_out, NULL),
                   ==, 0);
  g_assert_nonnull (strstr (check_out, "check: 2-layer relu net, T = 6, batch 10"));
  remove_tree (dir);
}

/* `echo LINE | drmad --no-gui ARGS… --evaluate`: the result line without
 * its times, which differ from run to run; NULL where it failed. */
static char *
evaluate_line (const char *const *args, const char *line)
{
  g_autoptr (GString) command = g_string_new ("printf '%s\\n' \"$1\" | \"$0\"");
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, "/bin/sh");
  g_ptr_array_add (argv, "-c");
  g_ptr_array_add (argv, NULL);   /* the command, below */
  g_ptr_array_add (argv, (gpointer) g_getenv ("DRMAD_BIN"));
  g_ptr_array_add (argv, (gpointer) line);
  for (guint i = 0; args[i]; i++) {
    g_string_append_printf (command, " \"${%u}\"", i + 2);
    g_ptr_array_add (argv, (gpointer) args[i]);
  }
  g_string_append (command, " --evaluate");
  argv->pdata[2] = command->str;
  g_ptr_array_add (argv, NULL);
  g_autofree char *out = NULL, *err = NULL;
  int status;
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status,
                               NULL));
  g_test_message ("evaluate: %s%s", out, err);
  char *seconds = strstr (out, " seconds=");
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0 || !g_str_has_prefix (out, "val_loss=") || !seconds)
    return NULL;
  return g_strndup (out, seconds - out);
}

/* The flags a mode does not take (README, "Options"), each ignored without
 * a word: --check --out DIR made no folder and said nothing, --force with
 * --check, --evaluate, --meta-iters 0 or --resume overwrote nothing,
 * --shard-data with a mode that trains once, in one process, parted
 * nothing. Each is refused, status 2, naming both options and what to do,
 * before anything is loaded, made or changed. --evaluate --resume was
 * refused without a way forward: it now names the command that evaluates
 * with the run's settings, which gives the same line as those settings
 * typed; and the way to start a run over that --resume --force names works. */
static void
test_mode_flags (void)
{
  g_autofree char *dir = NULL, *data = NULL, *folder = NULL;
  if (!small_idx_setup (&dir, &data, &folder))
    return;
  const char *options[] = SMALL_IDX_OPTIONS (data);
  g_assert_cmpint (drmad (options, (const char *[]){ "--meta-iters", "1", "--out", folder, NULL }, NULL, NULL), ==, 0);
  g_autofree char *history_before = read_text (folder, "history.csv");
  g_autofree char *hyper_before = read_text (folder, "hyper.csv");
  g_autofree char *other = g_build_filename (dir, "other", NULL);
  g_autofree char *config = g_build_filename (folder, "run.ini", NULL);
  const struct { const char *args[5], *refusal, *advice; } cases[] = {
    { { "--evaluate", "--resume", folder }, "--evaluate and --resume %s cannot be combined",
      "to evaluate θ with that run's settings, give --evaluate --config %s\n" },
    { { "--check", "--out", other }, "--check and --out %s cannot be combined", "keeps no run folder (leave out --out)\n" },
    { { "--check", "--force" }, "--check and --force cannot be combined", "(leave out --force)\n" },
    { { "--evaluate", "--force" }, "--evaluate and --force cannot be combined", "(leave out --force)\n" },
    { { "--meta-iters", "0", "--force" }, "--meta-iters 0 and --force cannot be combined", "(leave out --force)\n" },
    { { "--check", "--shard-data" }, "--check and --shard-data cannot be combined", "(leave out --shard-data)\n" },
    { { "--evaluate", "--shard-data" }, "--evaluate and --shard-data cannot be combined", "(leave out --shard-data)\n" },
    { { "--meta-iters", "0", "--shard-data" }, "--meta-iters 0 and --shard-data cannot be combined",
      "(leave out --shard-data)\n" },
    { { "--resume", folder, "--force" }, "--resume %s and --force cannot be combined",
      "give --config %s --out %s --force)\n" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *out = NULL, *err = NULL;
    /* --resume takes no settings beside it (a run keeps its own) */
    gboolean resumed = g_strv_contains (cases[i].args, "--resume");
    const char *alone[] = { "--no-gui", NULL };
    int status = drmad (resumed ? alone : options, cases[i].args, &out, &err);
    g_autofree char *refusal = g_strdup_printf (cases[i].refusal, i == 0 || resumed ? folder : other);
    g_autofree char *advice = g_strdup_printf (cases[i].advice, config, folder);
    g_test_message ("%s %s: %d, %s", cases[i].args[0], cases[i].args[1], status, err);
    g_assert_cmpint (status, ==, 2);
    g_assert_true (g_str_has_prefix (err, "drmad: "));
    g_assert_nonnull (strstr (err, refusal));
    g_assert_nonnull (strstr (err, advice));
    g_assert_cmpstr (out, ==, "");
    g_assert_false (g_file_test (other, G_FILE_TEST_EXISTS));
    g_autofree char *history_after = read_text (folder, "history.csv");
    g_assert_cmpstr (history_after, ==, history_before);
  }

  /* The run's settings through --config: the line the same settings typed give. */
  g_autofree char *typed = evaluate_line (options, "init-lr=0.05");
  g_autofree char *from_run = evaluate_line ((const char *[]){ "--no-gui", "--config", config, NULL }, "init-lr=0.05");
  g_assert_nonnull (typed);
  g_assert_cmpstr (from_run, ==, typed);
  /* and the run started over in its folder */
  g_autofree char *over_err = NULL;
  g_assert_cmpint (drmad ((const char *[]){ "--no-gui", "--config", config, "--out", folder, "--force", NULL }, NULL,
                          NULL, &over_err), ==, 0);
  g_autofree char *where = g_strdup_printf ("run folder: %s\n", folder);
  g_assert_nonnull (strstr (over_err, where));
  g_autofree char *hyper_over = read_text (folder, "hyper.csv");
  g_assert_cmpstr (hyper_over, ==, hyper_before);   /* the same settings and seed: the same θ */
  remove_tree (dir);
}

/* --warm-start chooses where the meta-iterations start: typed with a mode
 * that has none (--meta-iters 0, --evaluate, --check) it is refused, as it
 * was ignored, the values given trained instead; from a settings file (a
 * run's run.ini reused with --meta-iters 0) it does not stop the run. */
static void
test_warm_start_without_meta_iterations (void)
{
  g_autofree char *dir = NULL, *data = NULL, *folder = NULL;
  if (!small_idx_setup (&dir, &data, &folder))
    return;
  const char *options[] = SMALL_IDX_OPTIONS (data);
  const char *const modes[][3] = { { "--meta-iters", "0", "--meta-iters 0 and --warm-start 3 cannot be combined" },
                                   { "--evaluate", NULL, "--evaluate and --warm-start 3 cannot be combined" },
                                   { "--check", NULL, "--check and --warm-start 3 cannot be combined" } };
  for (guint i = 0; i < G_N_ELEMENTS (modes); i++) {
    g_autofree char *err = NULL;
    g_assert_cmpint (drmad (options, (const char *[]){ "--warm-start", "3", modes[i][0], modes[i][1], NULL }, NULL,
                            &err), ==, 2);
    g_assert_nonnull (strstr (err, modes[i][2]));
  }
  g_autofree char *config = g_build_filename (dir, "settings.ini", NULL);
  g_assert_true (g_file_set_contents (config, "[drmad]\nwarm-start=3\n", -1, NULL));
  g_autofree char *out = NULL;
  g_assert_cmpint (drmad (options, (const char *[]){ "--config", config, "--meta-iters", "0", NULL }, &out, NULL), ==,
                   0);
  g_assert_nonnull (strstr (out, "trained once:"));
  remove_tree (dir);
}

/* A warm start says before it begins how many trainings it takes (θ as
 * given, then 3 factors per group less the ×1 already measured: 1 + 2 × 2
 * for l2 and lr), and after it what it chose. */
static void
test_warm_start_announced (void)
{
  g_autofree char *dir = NULL, *data = NULL, *folder = NULL;
  if (!small_idx_setup (&dir, &data, &folder))
    return;
  const char *options[] = SMALL_IDX_OPTIONS (data);
  g_autofree char *err = NULL;
  g_assert_cmpint (drmad (options, (const char *[]){ "--warm-start", "3", "--meta-iters", "1", "--out", folder, NULL },
                          NULL, &err), ==, 0);
  const char *before = strstr (err, "warm start (--warm-start 3): 5 trainings of 6 steps before meta-iteration 1");
  const char *after = strstr (err, "warm start (--warm-start 3): l2 ×");
  g_assert_nonnull (before);
  g_assert_nonnull (after);
  g_assert_true (before < after);
  remove_tree (dir);
}

/* run.ini edited by hand in a way that changes θ's size (--layers, --learn):
 * --resume names the setting, both values and run.ini, as for any other
 * setting, and leaves the folder as it was; run.ini deleted is named as
 * such. It said "checkpoint.bin holds 10
 * hyperparameter values in 2 groups; this run has 15 in 2: it is another
 * run's, or damaged", blaming the checkpoint. */
static void
test_resume_run_ini_edited (void)
{
  g_autofree char *dir = NULL, *data = NULL, *folder = NULL;
  if (!small_idx_setup (&dir, &data, &folder))
    return;
  const char *options[] = SMALL_IDX_OPTIONS (data);
  g_assert_cmpint (drmad (options, (const char *[]){ "--meta-iters", "1", "--out", folder, NULL }, NULL, NULL), ==, 0);
  g_autofree char *ini_path = g_build_filename (folder, "run.ini", NULL);
  g_autofree char *ini = read_text (folder, "run.ini");
  g_autofree char *history = read_text (folder, "history.csv");
  g_autofree char *checkpoint_path = g_build_filename (folder, "checkpoint.bin", NULL);
  g_autofree char *checkpoint = NULL;
  gsize checkpoint_length;
  g_assert_true (g_file_get_contents (checkpoint_path, &checkpoint, &checkpoint_length, NULL));
  const char *const edits[][3] = { { "\nlayers=35,4,3\n", "\nlayers=35,4,4,3\n",
                                     "was written by a run with layers=35,4,3; this run has layers=35,4,4,3" },
                                   { "\nlearn=l2,lr\n", "\nlearn=l2\n",
                                     "was written by a run with learn=l2,lr; this run has learn=l2" } };
  for (guint i = 0; i < G_N_ELEMENTS (edits); i++) {
    g_auto (GStrv) around = g_strsplit (ini, edits[i][0], 2);
    g_assert_nonnull (around[1]);
    g_autofree char *edited = g_strconcat (around[0], edits[i][1], around[1], NULL);
    g_assert_true (g_file_set_contents (ini_path, edited, -1, NULL));
    g_autofree char *err = NULL;
    g_assert_cmpint (drmad ((const char *[]){ "--no-gui", "--resume", folder, "--meta-iters", "2", NULL }, NULL, NULL,
                            &err), ==, 2);
    g_assert_nonnull (strstr (err, edits[i][2]));
    g_assert_nonnull (strstr (err, "the settings are run.ini's"));
    g_autofree char *history_after = read_text (folder, "history.csv");
    g_assert_cmpstr (history_after, ==, history);
    g_autofree char *checkpoint_after = NULL;
    gsize length_after;
    g_assert_true (g_file_get_contents (checkpoint_path, &checkpoint_after, &length_after, NULL));
    g_assert_true (length_after == checkpoint_length && memcmp (checkpoint_after, checkpoint, length_after) == 0);
  }
  /* run.ini deleted: not "not a run folder", with checkpoint.bin there */
  g_assert_cmpint (g_unlink (ini_path), ==, 0);
  g_autofree char *err = NULL;
  g_assert_cmpint (drmad ((const char *[]){ "--no-gui", "--resume", folder, NULL }, NULL, NULL, &err), ==, 2);
  g_autofree char *missing = g_strdup_printf ("%s is missing, but %s is there", ini_path, checkpoint_path);
  g_assert_nonnull (strstr (err, missing));
  g_assert_null (strstr (err, "not a run folder"));
  remove_tree (dir);
}

/* --force over an earlier run, stopped (SIGTERM) before its first record,
 * here in a long warm start: the folder still holds the earlier run, byte
 * for byte, and the message says so instead of "continue with: drmad
 * --no-gui --resume DIR", which would continue the earlier run. */
static void
test_force_stopped_before_first_record (void)
{
  g_autofree char *dir = NULL, *data = NULL, *folder = NULL;
  if (!small_idx_setup (&dir, &data, &folder))
    return;
  const char *options[] = SMALL_IDX_OPTIONS (data);
  g_assert_cmpint (drmad (options, (const char *[]){ "--meta-iters", "1", "--out", folder, NULL }, NULL, NULL), ==, 0);
  g_autofree char *history = read_text (folder, "history.csv");
  g_autofree char *ini = read_text (folder, "run.ini");
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) g_getenv ("DRMAD_BIN"));
  for (guint i = 0; options[i]; i++)
    g_ptr_array_add (argv, (gpointer) options[i]);
  const char *extra[] = { "--iters", "2000", "--warm-start", "1000", "--meta-iters", "1", "--seed", "5", "--force",
                          "--out", folder, NULL };
  for (guint i = 0; extra[i]; i++)
    g_ptr_array_add (argv, (gpointer) extra[i]);
  g_ptr_array_add (argv, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) run = g_subprocess_newv ((const char *const *) argv->pdata, G_SUBPROCESS_FLAGS_STDOUT_SILENCE
                                                   | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  g_assert_no_error (error);
  /* the new run's staging folder beside the earlier run, with its run.ini: the warm start follows */
  gboolean staged = FALSE;
  for (int i = 0; i < 600 && !staged; i++) {
    g_autoptr (GDir) listing = g_dir_open (dir, 0, NULL);
    const char *name;
    while (listing && (name = g_dir_read_name (listing)) && !staged) {
      g_autofree char *staged_ini = g_build_filename (dir, name, "run.ini", NULL);
      staged = g_str_has_prefix (name, "run.drmad-new-") && g_file_test (staged_ini, G_FILE_TEST_EXISTS);
    }
    if (!staged)
      g_usleep (100000);
  }
  g_assert_true (staged);
  g_subprocess_send_signal (run, SIGTERM);
  g_autofree char *err = NULL;
  g_assert_true (g_subprocess_communicate_utf8 (run, NULL, NULL, NULL, &err, NULL));
  g_test_message ("%s", err);
  g_assert_cmpint (g_subprocess_get_exit_status (run), ==, 143);
  g_autofree char *kept = g_strdup_printf ("before this run's first meta-iteration was recorded: %s still holds the "
                                           "earlier run as it was", folder);
  g_assert_nonnull (strstr (err, kept));
  g_assert_null (strstr (err, "continue with"));
  g_autofree char *history_after = read_text (folder, "history.csv");
  g_autofree char *ini_after = read_text (folder, "run.ini");
  g_assert_cmpstr (history_after, ==, history);
  g_assert_cmpstr (ini_after, ==, ini);
  remove_tree (dir);
}

/* A first meta-iteration that fails leaves run.ini alone in the folder:
 * the message says so, and --resume runs the run from its start. */
static void
test_first_meta_iteration_failed (void)
{
  SKIP_WITHOUT_TEST_HOOKS ();
  g_autofree char *dir = NULL, *data = NULL, *folder = NULL;
  if (!small_idx_setup (&dir, &data, &folder))
    return;
  const char *options[] = SMALL_IDX_OPTIONS (data);
  g_autofree char *err = NULL;
  g_assert_cmpint (run_drmad (options, (const char *[]){ "--meta-iters", "2", "--out", folder, NULL },
                              "DRMAD_INJECT_FAULT", "gradient:1", NULL, &err), ==, 1);
  g_autofree char *said = g_strdup_printf ("no meta-iteration finished: %s holds only this run's settings "
                                           "(--resume %s starts it from the beginning)", folder, folder);
  g_assert_nonnull (strstr (err, said));
  g_autofree char *out = NULL;
  g_assert_cmpint (drmad ((const char *[]){ "--no-gui", "--resume", folder, NULL }, NULL, &out, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "meta 2/2"));
  remove_tree (dir);
}

/* The same with --force and no folder there before (a diverging start, no
 * test hooks needed): there is no earlier run to keep, and the folder holds
 * this run's run.ini, so the message is the one without --force. */
static void
test_first_meta_iteration_failed_force_new (void)
{
  g_autofree char *dir = NULL, *data = NULL, *folder = NULL;
  if (!small_idx_setup (&dir, &data, &folder))
    return;
  const char *options[] = SMALL_IDX_OPTIONS (data);
  g_autofree char *err = NULL;
  g_assert_cmpint (drmad (options, (const char *[]){ "--meta-iters", "2", "--init-lr", "100", "--init-scale", "100", "--iters", "100",
                                                     "--out", folder, "--force", NULL }, NULL, &err), ==, 1);
  g_test_message ("%s", err);
  g_assert_nonnull (strstr (err, "already diverge"));
  /* it said "-nan"; and its advice once, where "(try a smaller learning
   * rate)): lower the initial learning rate" said it twice */
  g_assert_nonnull (strstr (err, "the starting hyperparameters already diverge (train diverged: the minibatch loss "
                                 "became NaN by step 32 of 100 (try a smaller learning rate))\n"));
  g_autofree char *ini = g_build_filename (folder, "run.ini", NULL);
  g_assert_true (g_file_test (ini, G_FILE_TEST_IS_REGULAR));
  g_assert_null (strstr (err, "earlier run"));
  /* A resume keeps the starting values, which diverge again: the same line
   * says so and names the way to change them, as a whole command line
   * (--no-gui: without it a desktop opened the window). A second line
   * ("resuming keeps them") seemed to take back the offer of a resume,
   * which a fault that does not come back needs
   * (/cli/first-meta-iteration-failed). */
  g_autofree char *said = g_strdup_printf ("no meta-iteration finished: %s holds only this run's settings "
                                           "(--resume %s starts it from the beginning); that keeps its starting "
                                           "values, which diverged: to change them, drmad --no-gui --config "
                                           "%s/run.ini --out %s --force --init-lr SMALLER (below 100)\n", folder,
                                           folder, folder, folder);
  g_assert_nonnull (strstr (err, said));
  g_assert_null (strstr (err, "resuming keeps them"));
  /* and it runs, as said, at --init-lr 0.1 */
  const char *command = strstr (err, "drmad --no-gui --config");
  g_autofree char *line = g_strndup (command, strcspn (command, "\n") - strlen (" (below 100)"));
  g_auto (GStrv) words = g_strsplit (line, " ", -1);
  g_assert_cmpuint (g_strv_length (words), ==, 9);
  g_free (words[8]);
  words[8] = g_strdup ("0.1");
  g_autofree char *out = NULL;
  g_assert_cmpint (drmad ((const char *const *) words + 1, NULL, &out, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "meta 2/2 "));
  remove_tree (dir);
}

/* Without a display the program runs headless and says so, but only once
 * the options have parsed: a mistyped option gets its error alone. A build
 * without the window (DRMAD_HAS_WINDOW 0, tests/meson.build: -Dgui=disabled, or no GTK 4) says
 * that it has none, as README's "The window" has it; it ran the job
 * headless without a word. */
static void
test_headless_notice (void)
{
  g_autofree char *dir = NULL, *data = NULL, *folder = NULL;
  if (!small_idx_setup (&dir, &data, &folder))
    return;
  const char *options[] = SMALL_IDX_OPTIONS (data);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) g_getenv ("DRMAD_BIN"));
  for (guint i = 1; options[i]; i++)   /* all but --no-gui */
    g_ptr_array_add (argv, (gpointer) options[i]);
  g_ptr_array_add (argv, "--meta-iters");
  g_ptr_array_add (argv, "0");
  g_ptr_array_add (argv, NULL);
  g_auto (GStrv) env = g_environ_unsetenv (g_environ_unsetenv (g_get_environ (), "DISPLAY"), "WAYLAND_DISPLAY");
  int wait_status;
  g_autofree char *err = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, env, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, &err,
                               &wait_status, NULL));
  g_assert_true (g_spawn_check_wait_status (wait_status, NULL));
  g_test_message ("%s", err);
  const char *notice = strstr (err, "running headless, as with --no-gui");
  g_assert_nonnull (notice);
  g_assert_null (g_strstr_len (notice + 1, -1, "running headless"));   /* once */
  /* The value of an option is never taken for a terminal option: "--out
   * --no-gui" names a folder, and the program tried the window (saying why
   * it runs headless) where it took the value for --no-gui and said
   * nothing. */
  g_clear_pointer (&err, g_free);
  g_ptr_array_set_size (argv, argv->len - 2);   /* "0" and NULL: a run that keeps a folder */
  g_ptr_array_add (argv, "1");
  g_ptr_array_add (argv, "--out");
  g_ptr_array_add (argv, "--no-gui");
  g_ptr_array_add (argv, NULL);
  g_assert_true (g_spawn_sync (dir, (char **) argv->pdata, env, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, &err,
                               &wait_status, NULL));
  g_assert_true (g_spawn_check_wait_status (wait_status, NULL));
  g_test_message ("%s", err);
  g_assert_nonnull (strstr (err, "running headless, as with --no-gui"));
  g_autofree char *named = g_build_filename (dir, "--no-gui", "run.ini", NULL);
  g_assert_true (g_file_test (named, G_FILE_TEST_IS_REGULAR));
  if (!DRMAD_HAS_WINDOW)   /* tests/meson.build */
    g_assert_nonnull (strstr (err, "drmad: this build has no window (configured with -Dgui=disabled, or GTK 4 not "
                                   "found): running headless, as with --no-gui\n"));
  g_clear_pointer (&err, g_free);
  const char *bogus[] = { g_getenv ("DRMAD_BIN"), "--bogus", NULL };
  g_assert_true (g_spawn_sync (NULL, (char **) bogus, env, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, &err,
                               &wait_status, NULL));
  g_assert_true (WIFEXITED (wait_status));
  g_assert_cmpint (WEXITSTATUS (wait_status), ==, 2);
  g_assert_nonnull (strstr (err, "--bogus"));
  g_assert_null (strstr (err, "headless"));
  g_assert_null (strchr (g_strchomp (err), '\n'));   /* the error alone, one line */
  remove_tree (dir);
}

/* An address-space limit (ulimit -v) too small for PoCL: the ICD loader
 * skips the driver it cannot load, which looked like no driver installed
 * ("install pocl-opencl-icd"); the message now names the limit. Lowering a
 * limit needs no privilege. */
static void
limit_address_space (gpointer data)
{
  struct rlimit limit = { .rlim_cur = GPOINTER_TO_SIZE (data), .rlim_max = GPOINTER_TO_SIZE (data) };
  setrlimit (RLIMIT_AS, &limit);
}

static void
test_address_space_limit (void)
{
  SKIP_UNDER_ASAN ("AddressSanitizer maps terabytes of shadow memory: no program of this build starts under ulimit -v");
  /* Where the driver fails under a limit depends on the machine: loading
   * (no platform), or making its device (none listed); a refusal must name
   * the limit either way. PoCL itself aborts where it cannot start its
   * threads (260 MB here): not ours to catch, so not checked. */
  const char *argv[] = { g_getenv ("DRMAD_BIN"), "--list-devices", NULL };
  guint refused = 0;
  for (gsize mib = 100; mib <= 300; mib += 25) {
    g_autofree char *err = NULL;
    int status;
    g_autoptr (GError) error = NULL;
    g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, limit_address_space,
                                 GSIZE_TO_POINTER (mib << 20), NULL, &err, &status, &error));
    g_assert_no_error (error);
    g_test_message ("%" G_GSIZE_FORMAT " MiB: %s", mib, err);
    if (!WIFEXITED (status) || WEXITSTATUS (status) == 0)
      continue;
    g_assert_cmpint (WEXITSTATUS (status), ==, 1);
    g_autofree char *named = g_strdup_printf ("address-space limit (ulimit -v, %" G_GSIZE_FORMAT " KiB)", mib << 10);
    g_assert_nonnull (strstr (err, named));
    refused++;
  }
  if (!refused)
    g_test_skip ("the OpenCL driver loads within 100 MiB of address space here");
}

/* A run whose first meta-iteration is rejected (the full DrMAD line
 * diverges in its reverse pass at this learning rate) accepted no θ: the
 * final "best" is the θ the run started from, and the line says so. It
 * said "(the accepted θ with the lowest validation loss, inf)". */
static void
test_start_reverse_diverged (void)
{
  g_autofree char *dir = test_tmp_dir ("drmad-cli", NULL);
  g_autofree char *data = g_build_filename (dir, "data", NULL);
  g_autofree char *folder = g_build_filename (dir, "run", NULL);
  g_mkdir (data, 0755);
  write_small_idx (data, 300);
  const char *options[] = { "--no-gui", "--dataset", data, "--layers", "35,30,3", "--train-size", "200",
                            "--val-size", "50", "--test-size", "50", "--iters", "300", "--batch", "20",
                            "--method", "drmad", "--reverse-steps", "300", "--init-lr", "2", "--fidelity-every", "0",
                            "--meta-iters", "2", "--out", folder, NULL };
  g_autofree char *out = NULL, *err = NULL;
  g_assert_cmpint (drmad (options, NULL, &out, &err), ==, 0);
  g_test_message ("%s", out);
  g_test_message ("%s", err);
  g_assert_nonnull (strstr (out, "meta 1/2 "));
  g_autofree char *history = read_text (folder, "history.csv");
  g_auto (GStrv) first = history_row (history, "1");
  g_assert_cmpstr (first[1], ==, "1");    /* rejected */
  /* θ did not move, so meta-iteration 2 would run the same pass to the same
   * divergence (it did, and so on to the last): the run stops, saying why. */
  g_assert_null (strstr (out, "meta 2/2 "));
  g_assert_null (strstr (history, "\n2,"));
  g_assert_nonnull (strstr (err, "stopping after meta-iteration 1: its reverse pass diverged at the starting values"));
  /* The best is the initial θ: its test numbers are the initial one's. */
  g_auto (GStrv) initial = history_row (history, "final-initial"), best = history_row (history, "final-best");
  guint n = g_strv_length (initial);
  g_assert_cmpstr (best[n - 2], ==, initial[n - 2]);
  g_assert_null (strstr (out, "lowest validation loss, inf"));
  g_assert_nonnull (strstr (out, "(no meta-iteration was accepted: the starting values)"));
  /* The training ran whole; only the reverse pass diverged: the row keeps its
   * train and validation loss (they were empty, "val_loss nan" on the line),
   * those --meta-iters 0 measures with the same θ, split and seed. */
  const char *once[] = { "--no-gui", "--dataset", data, "--layers", "35,30,3", "--train-size", "200", "--val-size",
                         "50", "--test-size", "50", "--iters", "300", "--batch", "20", "--init-lr", "2",
                         "--meta-iters", "0", NULL };
  g_autofree char *once_out = NULL;
  g_assert_cmpint (drmad (once, NULL, &once_out, NULL), ==, 0);
  const char *trained = strstr (once_out, "trained once: val_loss ");
  g_assert_nonnull (trained);
  double once_val_loss = g_ascii_strtod (trained + strlen ("trained once: val_loss "), NULL);
  g_assert_cmpstr (first[2], !=, "");
  g_assert_cmpstr (first[3], !=, "");
  g_assert_cmpfloat_with_epsilon (g_ascii_strtod (first[3], NULL), once_val_loss, 1e-8 * once_val_loss);
  g_assert_cmpstr (first[4], ==, "");   /* the validation error is measured after the reverse pass */
  /* The pass gave no hypergradient: its norms are no number, not 0 (they
   * were: "|dl2| 0", and 0 in history.csv's hypergradient_norm cells). */
  g_assert_nonnull (strstr (out, "|dl2| —  |dlr| —"));
  /* the same "—" for the validation error beside them ("val_error nan") */
  g_assert_nonnull (strstr (out, "  val_error —  |dl2| —"));
  assert_norms_empty (history, "1");
  /* checkpoint.bin stores them as 0 with a flag, as its other missing values:
   * it holds no NaN (the quiet NaN of NAN, either sign, at any offset). */
  g_autofree char *checkpoint = g_build_filename (folder, "checkpoint.bin", NULL);
  g_autofree char *bytes = NULL;
  gsize size = 0;
  g_assert_true (g_file_get_contents (checkpoint, &bytes, &size, NULL));
  double nans[2] = { NAN, -NAN };
  for (gsize at = 0; at + sizeof (double) <= size; at++)
    for (guint k = 0; k < 2; k++)
      g_assert_false (memcmp (bytes + at, &nans[k], sizeof (double)) == 0);
  /* That flag is version 7's: a drmad that reads versions 3 to 6 took the
   * stored 0 for the norms (it wrote version 6, which such a drmad resumed
   * with |dl2| 0 in its history.csv); it now refuses the file, naming the
   * versions it reads. A run that has no such record stays version 6
   * (/runfolder/checkpoint-bytes-records), which those resume. */
  guint32 version;
  memcpy (&version, bytes + 8, 4);
  g_assert_cmpuint (version, ==, 7);
  /* DrMAD's line is a shortcut: the message names the more faithful methods. */
  g_assert_nonnull (strstr (err, "a new run with a more faithful method (--method exact"));

  /* Resumed with more meta-iterations, θ is still the starting one: the run
   * stops before running the same pass to the same divergence again (it ran
   * meta-iteration 2 and recorded a second rejection). */
  g_autofree char *resumed_out = NULL, *resumed_err = NULL;
  g_assert_cmpint (drmad ((const char *[]){ "--no-gui", "--resume", folder, "--meta-iters", "3", NULL }, NULL,
                          &resumed_out, &resumed_err), ==, 0);
  g_test_message ("%s", resumed_err);
  g_assert_null (strstr (resumed_out, "meta 2/3 "));
  g_assert_nonnull (strstr (resumed_err, "stopping after meta-iteration 1: its reverse pass diverged at the starting "
                                         "values"));
  g_autofree char *resumed_history = read_text (folder, "history.csv");
  g_assert_null (strstr (resumed_history, "\n2,"));
  assert_norms_empty (resumed_history, "1");   /* through checkpoint.bin, which holds no NaN */
  g_auto (GStrv) resumed_best = history_row (resumed_history, "final-best");
  g_assert_cmpstr (resumed_best[n - 2], ==, initial[n - 2]);

  /* Exact reverses the true trajectory: nothing is more faithful, and the
   * message said "a more faithful method (--method exact, …)" to a run
   * that was exact. It names the training's instability and --init-lr. */
  g_autofree char *exact_folder = g_build_filename (dir, "exact", NULL);
  g_autofree char *exact_out = NULL, *exact_err = NULL;
  g_assert_cmpint (drmad (options, (const char *[]){ "--method", "exact", "--init-lr", "4", "--out", exact_folder,
                                                     NULL }, &exact_out, &exact_err), ==, 0);
  g_test_message ("%s", exact_err);
  g_assert_null (strstr (exact_out, "meta 2/2 "));
  g_assert_nonnull (strstr (exact_err, "stopping after meta-iteration 1: its reverse pass diverged at the starting "
                                       "values"));
  g_assert_null (strstr (exact_err, "--method exact"));
  g_assert_nonnull (strstr (exact_err, "no method is more faithful: the training is unstable at these values, and a "
                                       "new run with a smaller --init-lr avoids it"));
  remove_tree (dir);
}

/* hyper.csv has a row for every hyperparameter after every meta-iteration:
 * a run whose hyper.csv grows by more than 10 MB a meta-iteration (784-256-10
 * with an L2 per weight and 4 learning-rate segments a layer: 203 272 rows, about 13 MB) says so once at the
 * start, with the growth it expects, which the test measures after one
 * meta-iteration (within 10 %, the numbers' lengths vary); a small run says
 * nothing of it. */
static void
test_hyper_csv_size_notice (void)
{
  if (!have_fashion_mnist ())
    return;
  g_autofree char *dir = test_tmp_dir ("drmad-cli", NULL);
  g_autofree char *big = g_build_filename (dir, "big", NULL), *little = g_build_filename (dir, "little", NULL);
  const char *options[] = { "--no-gui", "--iters", "5", "--train-size", "100", "--val-size", "50", "--test-size",
                            "50", "--batch", "10", "--fidelity-every", "0", "--meta-iters", "1", NULL };
  g_autofree char *err = NULL, *little_err = NULL;
  g_assert_cmpint (drmad (options, (const char *[]){ "--layers", "784,256,10", "--l2-granularity", "weight",
                                                     "--out", big, NULL }, NULL, &err), ==, 0);
  const char *notice = strstr (err, "hyper.csv grows by about ");
  g_assert_nonnull (notice);
  g_assert_null (strstr (notice + 1, "hyper.csv grows by"));   /* once */
  g_assert_nonnull (strstr (notice, " a meta-iteration (a row for each of the 203272 hyperparameters): about "));
  double megabytes = g_ascii_strtod (notice + strlen ("hyper.csv grows by about "), NULL);
  char *unit = NULL;
  g_ascii_strtod (notice + strlen ("hyper.csv grows by about "), &unit);
  g_assert_true (g_str_has_prefix (unit, "\u00a0MB a meta-iteration"));   /* g_format_size (): a no-break space */
  g_autofree char *path = g_build_filename (big, "hyper.csv", NULL);
  GStatBuf st;
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  double measured = (st.st_size - strlen ("iteration,name,raw,value\n")) / 1e6;
  g_test_message ("said %.1f MB, measured %.2f MB", megabytes, measured);
  g_assert_cmpfloat (fabs (megabytes - measured), <, 0.1 * measured);
  g_assert_cmpint (drmad (options, (const char *[]){ "--layers", "784,16,10", "--out", little, NULL }, NULL,
                          &little_err), ==, 0);
  g_assert_null (strstr (little_err, "hyper.csv grows"));
  remove_tree (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  if (!g_getenv ("DRMAD_BIN")) {
    g_printerr ("set DRMAD_BIN to the drmad program\n");
    return 77;
  }
  g_test_add_func ("/cli/help-and-bad-input", test_help_and_bad_input);
  g_test_add_func ("/cli/flag-with-value", test_flag_with_value);
  g_test_add_func ("/cli/config-precedence", test_config_precedence);
  g_test_add_func ("/cli/settings-file-bad-values", test_settings_file_bad_values);
  g_test_add_func ("/cli/run-folder-and-resume", test_run_folder_and_resume);
  g_test_add_func ("/cli/train-once", test_train_once);
  g_test_add_func ("/cli/patience", test_patience);
  g_test_add_func ("/cli/check", test_check);
  g_test_add_func ("/cli/check-fd-zero", test_check_fd_zero);
  g_test_add_func ("/cli/check-given-theta", test_check_given_theta);
  g_test_add_func ("/cli/check-shortcut-diverges", test_check_shortcut_diverges);
  g_test_add_func ("/cli/check-decimal-comma", test_check_decimal_comma);
  g_test_add_func ("/cli/stdout-full", test_stdout_full);
  g_test_add_func ("/cli/final-diverged", test_final_diverged);
  g_test_add_func ("/cli/final-none-accepted", test_final_none_accepted);
  g_test_add_func ("/cli/meta-lr-out-of-range", test_meta_lr_out_of_range);
  g_test_add_func ("/cli/relative-dataset", test_relative_dataset);
  g_test_add_func ("/cli/long-and-binary-values", test_long_and_binary_values);
  g_test_add_func ("/cli/device-faults", test_device_faults);
  g_test_add_func ("/cli/address-space-limit", test_address_space_limit);
  g_test_add_func ("/cli/dataset-messages", test_dataset_messages);
  g_test_add_func ("/cli/small-dataset-sizes", test_small_dataset_sizes);
  g_test_add_func ("/cli/one-class", test_one_class);
  g_test_add_func ("/cli/stray-label", test_stray_label);
  g_test_add_func ("/cli/device-from-environment", test_device_from_environment);
  g_test_add_func ("/cli/list-devices-blas-warning-once", test_list_devices_blas_warning_once);
  g_test_add_func ("/cli/list-devices-gemm-kernels-why", test_list_devices_gemm_kernels_why);
  g_test_add_func ("/cli/list-devices-without-avx512", test_list_devices_without_avx512);
  g_test_add_func ("/cli/best-line-many-values", test_best_line_many_values);
  g_test_add_func ("/cli/plot-write-failure", test_plot_write_failure);
  g_test_add_func ("/cli/train-once-with-folder", test_train_once_with_folder);
  g_test_add_func ("/cli/resume-same-options", test_resume_same_options);
  g_test_add_func ("/cli/resume-data-moved", test_resume_data_moved);
  g_test_add_func ("/cli/resume-dataset-without-identity", test_resume_dataset_without_identity);
  g_test_add_func ("/cli/check-with-resume", test_check_with_resume);
  g_test_add_func ("/cli/mode-flags", test_mode_flags);
  g_test_add_func ("/cli/warm-start-without-meta-iterations", test_warm_start_without_meta_iterations);
  g_test_add_func ("/cli/warm-start-announced", test_warm_start_announced);
  g_test_add_func ("/cli/resume-run-ini-edited", test_resume_run_ini_edited);
  g_test_add_func ("/cli/force-stopped-before-first-record", test_force_stopped_before_first_record);
  g_test_add_func ("/cli/headless-notice", test_headless_notice);
  g_test_add_func ("/cli/first-meta-iteration-failed", test_first_meta_iteration_failed);
  g_test_add_func ("/cli/first-meta-iteration-failed-force-new", test_first_meta_iteration_failed_force_new);
  g_test_add_func ("/cli/method-line", test_method_line);
  g_test_add_func ("/cli/start-reverse-diverged", test_start_reverse_diverged);
  g_test_add_func ("/cli/hyper-csv-size-notice", test_hyper_csv_size_notice);
  return g_test_run ();
}
