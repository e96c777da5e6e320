/* Options of the drmad program: one table read from the command line, from
 * --config FILE and from a run folder's run.ini, with the precedence
 * defaults < config file < command line. */
#pragma once

#include <drmad.h>

typedef struct {
  /* what to do */
  gboolean list_devices, check, force, version, no_gui;
  gboolean shard_data;    /* --shard-data: one disjoint part of the training split per MPI process */
  gboolean evaluate;      /* --evaluate: θ lines on stdin, one result line each */
  gboolean help_deferred; /* given to drmad_options_parse(): --help (-h, -?, --help-all) sets help rather than
                           * printing it and exiting, for a process of several under mpirun (drmad-cli.c) */
  char    *help;          /* with help_deferred, the text --help asked for, or NULL */
  char    *resume;        /* a run folder, or NULL */
  char    *out;           /* the run folder to create */
  gboolean out_default;   /* out is a name drmad chose (drmad_options_new_run_folder()), not the user's: a run
                           * started in the same second that takes it first moves this one to the next name */
  /* data and model */
  char    *dataset;
  char    *dataset_from;  /* the file that gave --dataset (a --config file, a resumed run.ini), or NULL */
  guint    train_size, val_size, test_size;
  guint    sizes[DRMAD_HYPER_MAX_LAYERS + 1];
  guint    n_sizes;
  DrmadActivation activation;
  guint    batch;
  guint64  meta_iters;
  guint    patience;
  guint    warm_start;    /* factors per group tried before the first meta-iteration; 0: none */      /* stop after this many meta-iterations without a better validation loss; 0: never */
  guint64  seed;
  /* hypergradients */
  DrmadHyperConfig   hyper;   /* steps = --iters */
  DrmadReverseConfig reverse;
  DrmadMetaConfig    meta;
  /* device */
  char          *device;
  DrmadGemmPath  gemm;
  DrmadPrecision precision;
  /* the merged key → value table, for run.ini */
  GHashTable *values;
  GHashTable *given;      /* keys set by a config file or the command line */
  GHashTable *typed;      /* keys set on the command line (drmad_options_parse()) */
  GHashTable *from_file;  /* key → the settings file its value came from (a --config file, a run's run.ini, the
                           * window's settings.ini), so that a bad value names that file; NULL: none did */
} DrmadOptions;

/* One row of the option table: what --help lists and run.ini keeps. */
typedef struct {
  const char *name;            /* the long option, and the key in run.ini */
  const char *default_value;   /* NULL: none */
  const char *arg;             /* NULL: a flag */
  const char *help;
  gboolean    in_ini;          /* a setting: kept in run.ini, read from config files */
} DrmadOptionSpec;

/* The whole table, in --help order. */
const DrmadOptionSpec *drmad_options_get_specs (guint *n_specs);

/* Parses @argv. Returns FALSE with a message for the user on bad input
 * (unknown option, malformed value, unreadable config). --help is handled
 * by GOptionContext (prints and exits 0). */
/* Whether @argv (@argc of them) asks for the terminal whatever else is
 * given: --no-gui, --list-devices, --check, --evaluate, --version or a help
 * option, read as GOption reads them (the value of an option that takes
 * one is never taken for an option: "--out --no-gui" names a folder). */
gboolean drmad_options_want_terminal (int argc, char **argv);

gboolean drmad_options_parse (DrmadOptions *options, int *argc, char ***argv, GError **error);

/* Builds @options from settings: the defaults, then @values (key → value,
 * keys of run.ini only), converted and checked as drmad_options_parse does.
 * out and resume stay NULL; the flags stay FALSE. FALSE with a message for
 * the user on an unknown key or a bad value. */
gboolean drmad_options_from_values (DrmadOptions *options, GHashTable *values, GError **error);

/* drmad_options_from_values() for @values read from the settings file @path
 * (drmad_options_read_ini()), under @typed (the command line's values, which
 * win; NULL: none): a bad value of the file says so, "in PATH: --KEY VALUE:
 * expected …", as drmad_options_parse says it of --config and --resume; a
 * key @typed sets is not the file's. */
gboolean drmad_options_from_file_values (DrmadOptions *options, GHashTable *values, GHashTable *typed,
                                         const char *path, GError **error);

/* The one reader of run.ini and settings files (@text, or the file at @path
 * when @text is NULL): the [drmad] group as key → value. @strict refuses
 * keys that are not settings (run.ini, --config); otherwise they are skipped
 * (the window's settings.ini, which a newer version may have written). */
GHashTable *drmad_options_read_ini (const char *text, gsize length, const char *path, gboolean strict,
                                    GError **error);

/* The settings a resumed run may change (NULL-terminated): the rest define
 * its trajectory. */
const char *const *drmad_options_resume_may_change (void);

/* The default run folder, for the CLI (@base "runs", under the current
 * folder) and the window (@base its data folder's drmad/runs):
 * @base/DATE-TIME, with -2, -3, … when that exists. */
char *drmad_options_new_run_folder (const char *base);

/* The settings a run's trajectory depends on (every setting but those a
 * resumed run may change), as "key=value" lines. */
char *drmad_options_trajectory_text (const DrmadOptions *options);

/* The run.ini text that reproduces these settings. */
char *drmad_options_to_ini (const DrmadOptions *options);

/* The settings that give θ its starting values, per weight layer
 * (init-l2, init-lr, init-momentum, init-scale; NULL-terminated): the
 * global keys of a drmad --evaluate line. */
const char *const *drmad_options_start_keys (void);

/* Parses @value, one number or one per each of @n_layers weight layers, of
 * the start setting @key into @hyper's per-layer array, with the bounds
 * the command line has. FALSE with a message that names it as
 * "key=value: expected …" (and @hyper unchanged) on a bad value or a key
 * that is not one of drmad_options_start_keys(). */
gboolean drmad_options_parse_start_value (DrmadHyperConfig *hyper, guint n_layers, const char *key,
                                          const char *value, GError **error);

/* Whether @key was given on the command line or in a config file (not a default). */
gboolean drmad_options_given (const DrmadOptions *options, const char *key);
/* Whether @key was set on the command line itself (not by a settings file). */
gboolean drmad_options_typed (const DrmadOptions *options, const char *key);

void drmad_options_clear (DrmadOptions *options);
