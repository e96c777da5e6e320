/* What a distribution installs and checks: the desktop file, the AppStream
 * metainfo and the manual page, as desktop-file-validate, appstreamcli and
 * man see them, against the program they describe (its application id,
 * its option table through `drmad --help-all`, its version), README's
 * copy of that table, and where `meson install` puts them. A validator that is not installed skips its
 * test (scripts/setup.sh installs them for CI). */
#include <glib.h>
#include <glib/gstdio.h>
#include <errno.h>
#include <string.h>
#include <sys/wait.h>

#include "test-util.h"

typedef struct {
  char *out;
  char *err;
  int status;   /* the exit status, or -1 when it did not exit */
} Ran;

static void
ran_clear (Ran *ran)
{
  g_free (ran->out);
  g_free (ran->err);
}

static Ran
run_argv (const char *const *argv)
{
  Ran ran = { NULL, NULL, -1 };
  int wait_status = 0;
  g_autoptr (GError) error = NULL;
  /* In UTF-8 whatever the caller's locale: under LC_ALL=C (or a LANG whose
   * locale is not generated) GOption prints the help's "…" and "θ" as "?",
   * and man says "can't set the locale" on standard error, which read as
   * a page that differs from the program and as groff warnings.
   * C.UTF-8 is built into glibc (2.35 on). */
  g_auto (GStrv) environment = g_environ_setenv (g_get_environ (), "LC_ALL", "C.UTF-8", TRUE);
  if (!g_spawn_sync (NULL, (char **) argv, environment, G_SPAWN_SEARCH_PATH, NULL, NULL, &ran.out, &ran.err,
                     &wait_status, &error))
    g_error ("cannot run %s: %s", argv[0], error->message);
  if (WIFEXITED (wait_status))
    ran.status = WEXITSTATUS (wait_status);
  return ran;
}

static char *
source_path (const char *relative)
{
  const char *root = g_getenv ("DRMAD_SOURCE_ROOT");
  g_assert_nonnull (root);
  return g_build_filename (root, relative, NULL);
}

static char *
read_file (const char *path)
{
  char *text = NULL;
  g_autoptr (GError) error = NULL;
  if (!g_file_get_contents (path, &text, NULL, &error))
    g_error ("%s", error->message);
  return text;
}

/* The first group of @pattern in @text, or NULL. */
static char *
match_group (const char *pattern, const char *text)
{
  g_autoptr (GRegex) regex = g_regex_new (pattern, G_REGEX_MULTILINE, 0, NULL);
  g_autoptr (GMatchInfo) match = NULL;
  return g_regex_match (regex, text, 0, &match) ? g_match_info_fetch (match, 1) : NULL;
}

/* The GApplication id the window registers (gui/drmad-application.h). */
static char *
application_id (void)
{
  g_autofree char *header = source_path ("gui/drmad-application.h");
  g_autofree char *text = read_file (header);
  char *id = match_group ("^#define DRMAD_APPLICATION_ID \"([^\"]+)\"", text);
  g_assert_nonnull (id);
  return id;
}

static GKeyFile *
load_desktop_file (const char *path)
{
  GKeyFile *file = g_key_file_new ();
  g_autoptr (GError) error = NULL;
  if (!g_key_file_load_from_file (file, path, G_KEY_FILE_NONE, &error))
    g_error ("%s: %s", path, error->message);
  return file;
}

static char *
desktop_string (GKeyFile *file, const char *key)
{
  return g_key_file_get_string (file, G_KEY_FILE_DESKTOP_GROUP, key, NULL);
}

/* The program Exec= starts, without arguments or field codes. */
static char *
desktop_program (GKeyFile *file)
{
  g_autofree char *exec = desktop_string (file, G_KEY_FILE_DESKTOP_KEY_EXEC);
  g_assert_nonnull (exec);
  g_auto (GStrv) words = g_strsplit (exec, " ", 2);
  return g_strdup (words[0]);
}

/* A validator's absence skips; said by name so that CI's log shows what is missing. */
static gboolean
have_program (const char *name, const char *package)
{
  g_autofree char *path = g_find_program_in_path (name);
  if (!path) {
    g_autofree char *message = g_strdup_printf ("%s not installed (Debian package %s)", name, package);
    g_test_skip (message);
  }
  return path != NULL;
}

/* appstreamcli's errors, warnings and infos, "E: ID:LINE: TAG" (indented by validate-tree) */
#define APPSTREAM_ISSUE "^\\s*([EWI]: .*)$"

/* Runs a validator: it must exit 0 with no line of its output matching
 * @issue_pattern and, where @must_name is given, name it (the file read). */
static void
expect_clean (const char *const *argv, const char *issue_pattern, const char *must_name)
{
  Ran ran = run_argv (argv);
  g_autofree char *issue = match_group (issue_pattern, ran.out);
  if (ran.status != 0 || issue || (must_name && !strstr (ran.out, must_name))) {
    g_autofree char *command = g_strjoinv (" ", (char **) argv);
    g_error ("%s (status %d):\n%s%s", command, ran.status, ran.out, ran.err);
  }
  ran_clear (&ran);
}

static void
test_desktop_file_validates (void)
{
  if (!have_program ("desktop-file-validate", "desktop-file-utils"))
    return;
  g_autofree char *path = source_path ("data/org.drmad.Drmad.desktop");
  /* hints too: "more than one main category" put the entry in two menus */
  expect_clean ((const char *[]){ "desktop-file-validate", path, NULL }, "^(.+)$", NULL);
}

static void
test_desktop_file_ids (void)
{
  g_autofree char *id = application_id ();
  g_autofree char *path = source_path ("data/org.drmad.Drmad.desktop");
  g_autoptr (GKeyFile) file = load_desktop_file (path);
  /* Wayland compositors match the window's app id (the GApplication id) to
   * the desktop file's name; the icon is looked up by that name too. */
  g_autofree char *name = g_path_get_basename (path);
  g_autofree char *expected_name = g_strconcat (id, ".desktop", NULL);
  g_assert_cmpstr (name, ==, expected_name);
  g_autofree char *icon = desktop_string (file, G_KEY_FILE_DESKTOP_KEY_ICON);
  g_assert_cmpstr (icon, ==, id);
  /* On X11, GTK 4 names the window's WM_CLASS after the program (argv[0]'s
   * basename: ("drmad", "drmad") under Xvfb, read with xprop), not after
   * the application id: without StartupWMClass the shell could not tie
   * the window to this entry. */
  g_autofree char *program = desktop_program (file);
  g_autofree char *wm_class = desktop_string (file, G_KEY_FILE_DESKTOP_KEY_STARTUP_WM_CLASS);
  g_autofree char *built = g_path_get_basename (g_getenv ("DRMAD_BIN"));
  g_assert_cmpstr (program, ==, built);
  g_assert_cmpstr (wm_class, ==, program);
  /* The application is NON_UNIQUE (gui/drmad-application.c) and installs no
   * D-Bus service: a D-Bus-activatable entry would not start. */
  g_assert_false (g_key_file_get_boolean (file, G_KEY_FILE_DESKTOP_GROUP, G_KEY_FILE_DESKTOP_KEY_DBUS_ACTIVATABLE,
                                          NULL));
}

static void
test_metainfo_validates (void)
{
  if (!have_program ("appstreamcli", "appstream"))
    return;
  g_autofree char *path = source_path ("data/org.drmad.Drmad.metainfo.xml");
  /* errors, warnings and infos alike (the pedantic level is left out: it
   * objects to the upper case of the id, which the application id fixes) */
  expect_clean ((const char *[]){ "appstreamcli", "validate", "--no-net", "--no-color", path, NULL },
                APPSTREAM_ISSUE, NULL);
}

static void
test_metainfo_ids (void)
{
  g_autofree char *id = application_id ();
  g_autofree char *path = source_path ("data/org.drmad.Drmad.metainfo.xml");
  g_autofree char *text = read_file (path);
  g_autofree char *component = match_group ("<id>([^<]*)</id>", text);
  g_assert_cmpstr (component, ==, id);
  g_autofree char *launchable = match_group ("<launchable type=\"desktop-id\">([^<]*)</launchable>", text);
  g_autofree char *desktop_name = g_strconcat (id, ".desktop", NULL);
  g_assert_cmpstr (launchable, ==, desktop_name);
  g_autofree char *desktop_path = source_path ("data/org.drmad.Drmad.desktop");
  g_autoptr (GKeyFile) desktop = load_desktop_file (desktop_path);
  g_autofree char *program = desktop_program (desktop);
  g_autofree char *binary = match_group ("<binary>([^<]*)</binary>", text);
  g_assert_cmpstr (binary, ==, program);
  /* the newest release, listed first, is the version being built */
  g_autofree char *release = match_group ("<release version=\"([^\"]*)\"", text);
  g_assert_cmpstr (release, ==, DRMAD_VERSION);
}

typedef struct {
  char *argument;       /* NULL for a flag */
  char *text;           /* the help's text, "(default: …)" included */
} Option;

static void
option_free (gpointer data)
{
  Option *option = data;
  g_free (option->argument);
  g_free (option->text);
  g_free (option);
}

/* name → Option, from the help the program prints. */
static GHashTable *
program_options (void)
{
  Ran ran = run_argv ((const char *[]){ g_getenv ("DRMAD_BIN"), "--help-all", NULL });
  g_assert_cmpint (ran.status, ==, 0);
  GHashTable *options = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, option_free);
  g_autoptr (GRegex) line = g_regex_new ("^  --([a-z0-9-]+)(?:=(\\S+))?\\s{2,}(.*)$", G_REGEX_MULTILINE, 0, NULL);
  g_autoptr (GMatchInfo) match = NULL;
  for (g_regex_match (line, ran.out, 0, &match); g_match_info_matches (match); g_match_info_next (match, NULL)) {
    Option *option = g_new0 (Option, 1);
    option->argument = g_match_info_fetch (match, 2);
    option->text = g_match_info_fetch (match, 3);
    if (!*option->argument)
      g_clear_pointer (&option->argument, g_free);
    g_hash_table_replace (options, g_match_info_fetch (match, 1), option);
  }
  ran_clear (&ran);
  g_hash_table_remove (options, "help");
  return options;
}

/* Adds each option of the program's @options that @listed lacks to
 * @problems, as missing from @where; fails with them all. */
static void
fail_with_missing (GHashTable *options, GHashTable *listed, const char *where, GString *problems)
{
  GHashTableIter iter;
  gpointer name;
  g_hash_table_iter_init (&iter, options);
  while (g_hash_table_iter_next (&iter, &name, NULL))
    if (!g_hash_table_contains (listed, name))
      g_string_append_printf (problems, "--%s (app/drmad-options.c) is missing from %s\n", (char *) name, where);
  if (problems->len)
    g_error ("%s", problems->str);
}

/* The page's OPTIONS section as roff, \- and \e read as - and \. */
static char *
man_options_section (const char *page)
{
  const char *start = strstr (page, "\n.SH OPTIONS\n");
  g_assert_nonnull (start);
  const char *end = strstr (start + 1, "\n.SH ");
  g_assert_nonnull (end);
  g_autofree char *section = g_strndup (start, (gsize) (end - start));
  g_autoptr (GRegex) escapes = g_regex_new ("\\\\-", 0, 0, NULL);
  g_autofree char *dashes = g_regex_replace_literal (escapes, section, -1, 0, "-", 0, NULL);
  g_autoptr (GRegex) backslashes = g_regex_new ("\\\\e", 0, 0, NULL);
  return g_regex_replace_literal (backslashes, dashes, -1, 0, "\\", 0, NULL);
}

static void
test_man_page_options (void)
{
  g_autofree char *page = read_file (g_getenv ("DRMAD_MAN_PAGE"));
  g_autofree char *options_section = man_options_section (page);
  g_autoptr (GHashTable) options = program_options ();
  /* the table has some 45 options: a help that reads as none is a parse gone wrong */
  g_assert_cmpuint (g_hash_table_size (options), >=, 40);

  /* Each option of the page: ".B --flag" or ".BI --name= ARG", its text up
   * to the next .TP or .SS. */
  g_autoptr (GRegex) entry = g_regex_new ("^\\.(?:B (--[a-z0-9-]+)|BI (--[a-z0-9-]+)= (.+))\\n((?:(?!\\.TP|\\.SS).*\\n?)*)",
                                          G_REGEX_MULTILINE, 0, NULL);
  g_autoptr (GHashTable) documented = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GMatchInfo) match = NULL;
  g_autoptr (GString) problems = g_string_new (NULL);
  for (g_regex_match (entry, options_section, 0, &match); g_match_info_matches (match);
       g_match_info_next (match, NULL)) {
    g_autofree char *flag = g_match_info_fetch (match, 1), *with_value = g_match_info_fetch (match, 2);
    g_autofree char *argument = g_match_info_fetch (match, 3), *text = g_match_info_fetch (match, 4);
    const char *name = (*flag ? flag : with_value) + 2;
    g_hash_table_add (documented, g_strdup (name));
    if (g_str_equal (name, "help-all"))   /* GOption's, not in the table */
      continue;
    const Option *option = g_hash_table_lookup (options, name);
    if (!option) {
      g_string_append_printf (problems, "the page names --%s, which drmad --help-all does not list\n", name);
      continue;
    }
    if (g_strcmp0 (*argument ? argument : NULL, option->argument) != 0)
      g_string_append_printf (problems, "--%s: the page's argument is \"%s\", the program's \"%s\"\n", name, argument,
                              option->argument ? option->argument : "(none)");
    /* The page's text is the table's, word for word (its default
     * included): a description reworded in app/drmad-options.c and not
     * here is a page that no longer says what the program does. */
    g_autofree char *joined = g_strstrip (g_strdelimit (g_strdup (text), "\n", ' '));
    if (!g_str_equal (joined, option->text))
      g_string_append_printf (problems, "--%s: the page says\n  \"%s\"\nwhere drmad --help-all says\n  \"%s\"\n", name,
                              joined, option->text);
  }
  fail_with_missing (options, documented, "the manual page data/drmad.1.in", problems);

  /* the version in the page's header is the one being built */
  g_autofree char *header_version = match_group ("^\\.TH DRMAD 1 \"[^\"]*\" \"drmad ([^\"]+)\"", page);
  g_assert_cmpstr (header_version, ==, DRMAD_VERSION);
}

/* README's "Options" table, | `--name=ARG` | `DEFAULT` | meaning |, is a
 * third copy of the option table: each row's meaning begins with the
 * help's text (README may go on), and its argument and default are the
 * help's. */
static void
test_readme_options (void)
{
  g_autofree char *path = source_path ("README.md");
  g_autofree char *readme = read_file (path);
  const char *section = strstr (readme, "\n## Options\n");
  g_assert_nonnull (section);
  /* the section's first table, up to the blank line after it */
  const char *start = strstr (section, "\n| option | default | meaning |\n");
  g_assert_nonnull (start);
  const char *end = strstr (start, "\n\n");
  g_autofree char *escaped = end ? g_strndup (start, (gsize) (end - start)) : g_strdup (start);
  g_autoptr (GRegex) pipes = g_regex_new ("\\\\\\|", 0, 0, NULL);
  g_autofree char *table = g_regex_replace_literal (pipes, escaped, -1, 0, "|", 0, NULL);
  g_autoptr (GHashTable) options = program_options ();
  g_autoptr (GRegex) row = g_regex_new ("^\\| `--([a-z0-9-]+)(?:=([^`]+))?` \\| *(?:`([^`]*)`)? *\\| (.*) \\|$",
                                        G_REGEX_MULTILINE, 0, NULL);
  g_autoptr (GRegex) default_part = g_regex_new (" \\(default: (.*)\\)$", 0, 0, NULL);
  g_autoptr (GHashTable) rows = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GString) problems = g_string_new (NULL);
  g_autoptr (GMatchInfo) match = NULL;
  for (g_regex_match (row, table, 0, &match); g_match_info_matches (match); g_match_info_next (match, NULL)) {
    g_autofree char *name = g_match_info_fetch (match, 1), *argument = g_match_info_fetch (match, 2);
    g_autofree char *default_value = g_match_info_fetch (match, 3), *meaning = g_match_info_fetch (match, 4);
    const Option *option = g_hash_table_lookup (options, name);
    if (!option) {
      g_string_append_printf (problems, "README's options name --%s, which drmad --help-all does not list\n", name);
      continue;
    }
    g_hash_table_add (rows, g_strdup (name));
    g_autofree char *help_default = match_group (" \\(default: (.*)\\)$", option->text);
    g_autofree char *help_meaning = g_regex_replace_literal (default_part, option->text, -1, 0, "", 0, NULL);
    if (g_strcmp0 (*argument ? argument : NULL, option->argument) != 0)
      g_string_append_printf (problems, "--%s: README's argument is \"%s\", the program's \"%s\"\n", name, argument,
                              option->argument ? option->argument : "(none)");
    if (g_strcmp0 (*default_value ? default_value : NULL, help_default) != 0)
      g_string_append_printf (problems, "--%s: README's default is \"%s\", the program's \"%s\"\n", name, default_value,
                              help_default ? help_default : "(none)");
    if (!g_str_has_prefix (meaning, help_meaning))
      g_string_append_printf (problems, "--%s: README says\n  \"%s\"\nwhere drmad --help-all says\n  \"%s\"\n", name,
                              meaning, help_meaning);
  }
  fail_with_missing (options, rows, "README's Options table", problems);
}

/* The .SS heading each option of the page's OPTIONS section stands under. */
static GHashTable *
option_headings (const char *options_section)
{
  GHashTable *headings = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_auto (GStrv) lines = g_strsplit (options_section, "\n", -1);
  const char *heading = "";
  for (char **line = lines; *line; line++) {
    if (g_str_has_prefix (*line, ".SS "))
      heading = *line + 4;
    g_autofree char *name = match_group ("^\\.BI? --([a-z0-9-]+)", *line);
    if (name)
      g_hash_table_replace (headings, g_steal_pointer (&name), g_strstrip (g_strdelimit (g_strdup (heading), "\"", ' ')));
  }
  return headings;
}

/* Runs drmad --no-gui --config with @ini and --version, which reads and
 * checks the file and exits. */
static Ran
run_with_config (const char *folder, const char *ini)
{
  g_autofree char *path = g_build_filename (folder, "settings.ini", NULL);
  g_autoptr (GError) error = NULL;
  if (!g_file_set_contents (path, ini, -1, &error))
    g_error ("%s", error->message);
  return run_argv ((const char *[]){ g_getenv ("DRMAD_BIN"), "--no-gui", "--config", path, "--version", NULL });
}

/* The page's DESCRIPTION says which options a --config file may set: those
 * under these headings, and no others. */
static const char *const file_headings[] = { "Data and network", "Hyperparameters", "Reverse pass", "Meta-optimiser",
                                             "Device", NULL };

static void
test_man_page_config_keys (void)
{
  g_autofree char *page = read_file (g_getenv ("DRMAD_MAN_PAGE"));
  g_autofree char *options_section = man_options_section (page);
  const char *description = strstr (page, "\n.SH DESCRIPTION\n");
  g_assert_nonnull (description);
  g_autofree char *said = g_strndup (description, (gsize) (strstr (page, "\n.SH OPTIONS\n") - description));
  for (guint i = 0; file_headings[i]; i++)
    if (!strstr (said, file_headings[i]) || !strstr (options_section, file_headings[i]))
      g_error ("\"%s\" is no longer both a heading of OPTIONS and named in DESCRIPTION", file_headings[i]);

  g_autoptr (GHashTable) headings = option_headings (options_section);
  g_autoptr (GHashTable) options = program_options ();
  g_autoptr (GError) error = NULL;
  g_autofree char *scratch = g_dir_make_tmp (NULL, &error);
  g_assert_no_error (error);
  g_autoptr (GString) readable = g_string_new ("[drmad]\n");
  g_autoptr (GString) problems = g_string_new (NULL);
  guint in_file = 0;
  GHashTableIter iter;
  gpointer name, value;
  g_hash_table_iter_init (&iter, options);
  while (g_hash_table_iter_next (&iter, &name, &value)) {
    const Option *option = value;
    const char *heading = g_hash_table_lookup (headings, name);
    g_assert_nonnull (heading);   /* test_man_page_options names a missing one */
    if (g_strv_contains (file_headings, heading)) {
      /* each at its default: a file of them all is accepted */
      g_autofree char *default_value = match_group ("\\(default: (.*)\\)$", option->text);
      g_string_append_printf (readable, "%s=%s\n", (char *) name, default_value ? default_value : "");
      in_file++;
      continue;
    }
    g_autofree char *ini = g_strdup_printf ("[drmad]\n%s=1\n", (char *) name);
    Ran ran = run_with_config (scratch, ini);
    if (ran.status != 2 || !strstr (ran.err, "unknown setting"))
      g_string_append_printf (problems, "--%s (under \"%s\"): a --config file setting it gave status %d (%s), "
                              "where the page says only the command line takes it\n", (char *) name, heading,
                              ran.status, g_strstrip (ran.err));
    ran_clear (&ran);
  }
  g_assert_cmpuint (in_file, >=, 30);
  Ran ran = run_with_config (scratch, readable->str);
  if (ran.status != 0)
    g_string_append_printf (problems, "a --config file with every option the page says it takes, at its default, "
                            "gave status %d: %s\n%s", ran.status, g_strstrip (ran.err), readable->str);
  ran_clear (&ran);
  remove_tree (scratch);
  if (problems->len)
    g_error ("%s", problems->str);
}

static void
test_man_page_renders (void)
{
  if (!have_program ("man", "man-db"))
    return;
  /* as lintian reads it: every groff warning shows on stderr */
  const char *argv[] = { "man", "--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z", g_getenv ("DRMAD_MAN_PAGE"), NULL };
  Ran ran = run_argv (argv);
  if (ran.status != 0 || *ran.err)
    g_error ("man --warnings -l %s (status %d):\n%s", argv[7], ran.status, ran.err);
  ran_clear (&ran);
}

#if DRMAD_HAS_WINDOW
/* A PNG's width and height, from its IHDR chunk. */
static void
png_size (const char *path, guint *width, guint *height)
{
  g_autofree char *bytes = NULL;
  gsize length = 0;
  g_assert_true (g_file_get_contents (path, &bytes, &length, NULL));
  g_assert_cmpuint (length, >, 24);
  g_assert_cmpmem (bytes + 12, 4, "IHDR", 4);
  const guchar *u = (const guchar *) bytes;
  *width = (guint) u[16] << 24 | (guint) u[17] << 16 | (guint) u[18] << 8 | u[19];
  *height = (guint) u[20] << 24 | (guint) u[21] << 16 | (guint) u[22] << 8 | u[23];
}
#endif

static void
test_install (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *scratch = test_tmp_dir ("drmad-packaging", &error);
  g_assert_no_error (error);
  g_autofree char *destdir = g_build_filename (scratch, "root", NULL);
  /* DESTDIR, as a package build stages its files; it skips the icon-cache update */
  Ran ran = run_argv ((const char *[]){ g_getenv ("DRMAD_MESON"), "install", "--no-rebuild", "--quiet", "-C",
                                        g_getenv ("DRMAD_BUILD_ROOT"), "--destdir", destdir, NULL });
  if (ran.status != 0)
    g_error ("meson install --destdir %s (status %d):\n%s%s", destdir, ran.status, ran.out, ran.err);
  ran_clear (&ran);

  g_autofree char *program = g_build_filename (destdir, g_getenv ("DRMAD_BINDIR"), "drmad", NULL);
  g_assert_true (g_file_test (program, G_FILE_TEST_IS_EXECUTABLE));
  g_autofree char *man = g_build_filename (destdir, g_getenv ("DRMAD_MANDIR"), "man1", "drmad.1", NULL);
  g_autofree char *man_installed = read_file (man), *man_built = read_file (g_getenv ("DRMAD_MAN_PAGE"));
  g_assert_cmpstr (man_installed, ==, man_built);

#if DRMAD_HAS_WINDOW
  g_autofree char *id = application_id ();
  const char *datadir = g_getenv ("DRMAD_DATADIR");
  g_autofree char *desktop_name = g_strconcat (id, ".desktop", NULL);
  g_autofree char *desktop_path = g_build_filename (destdir, datadir, "applications", desktop_name, NULL);
  g_autoptr (GKeyFile) desktop = load_desktop_file (desktop_path);
  g_autofree char *metainfo_name = g_strconcat (id, ".metainfo.xml", NULL);
  g_autofree char *metainfo = g_build_filename (destdir, datadir, "metainfo", metainfo_name, NULL);
  g_assert_true (g_file_test (metainfo, G_FILE_TEST_IS_REGULAR));
  /* The menu looks Icon= up in hicolor: the sizes installed are what they say. */
  g_autofree char *icon = desktop_string (desktop, G_KEY_FILE_DESKTOP_KEY_ICON);
  g_autofree char *svg_name = g_strconcat (icon, ".svg", NULL), *png_name = g_strconcat (icon, ".png", NULL);
  g_autofree char *svg = g_build_filename (destdir, datadir, "icons", "hicolor", "scalable", "apps", svg_name, NULL);
  g_assert_true (g_file_test (svg, G_FILE_TEST_IS_REGULAR));
  static const guint sizes[] = { 48, 128 };
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++) {
    g_autofree char *folder = g_strdup_printf ("%ux%u", sizes[i], sizes[i]);
    g_autofree char *png = g_build_filename (destdir, datadir, "icons", "hicolor", folder, "apps", png_name, NULL);
    guint width = 0, height = 0;
    png_size (png, &width, &height);
    g_assert_cmpuint (width, ==, sizes[i]);
    g_assert_cmpuint (height, ==, sizes[i]);
  }
  /* the installed tree as software centres read it: the metainfo with the
   * desktop entry it names */
  g_autofree char *appstreamcli = g_find_program_in_path ("appstreamcli");
  if (appstreamcli) {
    g_autofree char *prefix = g_build_filename (destdir, g_getenv ("DRMAD_PREFIX"), NULL);
    /* it passes a folder with no metainfo at all: it must have read ours */
    expect_clean ((const char *[]){ "appstreamcli", "validate-tree", "--no-net", "--no-color", prefix, NULL },
                  APPSTREAM_ISSUE, metainfo_name);
  } else
    g_test_message ("appstreamcli not installed (Debian package appstream): the installed tree not validated");
#endif

  remove_tree (scratch);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/packaging/desktop-file/validates", test_desktop_file_validates);
  g_test_add_func ("/packaging/desktop-file/ids", test_desktop_file_ids);
  g_test_add_func ("/packaging/metainfo/validates", test_metainfo_validates);
  g_test_add_func ("/packaging/metainfo/ids", test_metainfo_ids);
  g_test_add_func ("/packaging/man-page/options", test_man_page_options);
  g_test_add_func ("/packaging/man-page/config-keys", test_man_page_config_keys);
  g_test_add_func ("/packaging/man-page/renders", test_man_page_renders);
  g_test_add_func ("/packaging/readme/options", test_readme_options);
  g_test_add_func ("/packaging/install", test_install);
  return g_test_run ();
}
