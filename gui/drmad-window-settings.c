/* The settings ↔ widgets binding of DrmadWindow: every row of
 * the settings pane stands for one key of run.ini in DrmadSettings; a change
 * on either side shows on the other. */
#include "drmad-window-private.h"

#include <string.h>

/* A drop-down bound to one setting: item i stands for values[i]. */
typedef struct {
  DrmadWindow   *window;
  GtkDropDown   *dropdown;
  const char    *key;
  GtkStringList *labels;
  GPtrArray     *values;   /* char * */
  gboolean       open;     /* unknown values are added as items (dataset, device) */
} Choice;

static void
choice_free (gpointer data)
{
  Choice *choice = data;
  g_ptr_array_unref (choice->values);
  g_free (choice);
}

/* Entries and spin buttons: the widget at a struct offset, and its setting. */
typedef struct {
  gsize       offset;
  const char *key;
} Field;

#define WIDGET_AT(self, offset) (*(GtkWidget **) G_STRUCT_MEMBER_P ((self), (offset)))

static const Field entry_fields[] = {
  { G_STRUCT_OFFSET (DrmadWindow, layers_entry), "layers" },
  { G_STRUCT_OFFSET (DrmadWindow, init_l2_entry), "init-l2" },
  { G_STRUCT_OFFSET (DrmadWindow, init_lr_entry), "init-lr" },
  { G_STRUCT_OFFSET (DrmadWindow, init_momentum_entry), "init-momentum" },
  { G_STRUCT_OFFSET (DrmadWindow, init_scale_entry), "init-scale" },
  { G_STRUCT_OFFSET (DrmadWindow, meta_lr_entry), "meta-lr" },
  { G_STRUCT_OFFSET (DrmadWindow, seed_entry), "seed" },   /* any 64-bit seed: a double would round it */
};

static const Field spin_fields[] = {
  { G_STRUCT_OFFSET (DrmadWindow, train_size_spin), "train-size" },
  { G_STRUCT_OFFSET (DrmadWindow, val_size_spin), "val-size" },
  { G_STRUCT_OFFSET (DrmadWindow, batch_spin), "batch" },
  { G_STRUCT_OFFSET (DrmadWindow, segments_spin), "segments" },
  { G_STRUCT_OFFSET (DrmadWindow, iters_spin), "iters" },
  { G_STRUCT_OFFSET (DrmadWindow, meta_iters_spin), "meta-iters" },
  { G_STRUCT_OFFSET (DrmadWindow, snapshots_spin), "snapshots" },
};

/* Values of the fixed drop-downs, in the order of their items in the .ui. */
static const char *const activation_values[] = { "relu", "tanh", "softsign", NULL };
static const char *const granularity_values[] = { "layer", "neuron", "weight", NULL };
static const char *const method_values[] = { "auto", "exact", "piecewise", "truncated", "drmad", NULL };
static const char *const precision_values[] = { "float32", "float64", NULL };

/* The learn switches, in the order of the groups in --learn. */
static const char *const learn_groups[] = { "l2", "lr", "momentum", "init" };

static GtkSwitch *
learn_switch (DrmadWindow *self, guint group)
{
  GtkSwitch *switches[] = { self->learn_l2_switch, self->learn_lr_switch, self->learn_momentum_switch,
                            self->learn_init_switch };
  return switches[group];
}

/* ---- settings → widgets ---- */

static Choice *
find_choice (DrmadWindow *self, const char *key)
{
  for (guint i = 0; i < self->choices->len; i++) {
    Choice *choice = self->choices->pdata[i];
    if (g_str_equal (choice->key, key))
      return choice;
  }
  return NULL;
}

static void
choice_append (Choice *choice, const char *value, const char *label)
{
  g_ptr_array_add (choice->values, g_strdup (value));
  gtk_string_list_append (choice->labels, label);
}

/* Whether two dataset values name the same dataset: a built-in name
 * (no separator, lib/dataset.c, drmad_dataset_open) only itself; a path
 * any other spelling of it ("DIR/", "DIR/.", relative to the working
 * folder), compared as g_canonicalize_filename() writes them (symbolic
 * links are not followed). */
static gboolean
same_dataset (gconstpointer listed, gconstpointer value)
{
  if (g_str_equal (listed, value))
    return TRUE;
  if (!strchr (listed, G_DIR_SEPARATOR) || !strchr (value, G_DIR_SEPARATOR))
    return FALSE;
  g_autofree char *a = g_canonicalize_filename (listed, NULL), *b = g_canonicalize_filename (value, NULL);
  return g_str_equal (a, b);
}

/* The item of @choice that stands for @value. */
static gboolean
find_value (DrmadWindow *self, Choice *choice, const char *value, guint *index)
{
  return g_ptr_array_find_with_equal_func (choice->values, value,
                                           choice->dropdown == self->dataset_dropdown ? same_dataset : g_str_equal,
                                           index);
}

static void
sync_choice (DrmadWindow *self, Choice *choice, const char *value)
{
  guint index;
  if (!find_value (self, choice, value, &index)) {
    if (!choice->open)
      return;   /* a value the list does not offer: Start reports it */
    /* a folder's own name, "DIR/." or "DIR/" written as it may be */
    g_autofree char *canonical = strchr (value, G_DIR_SEPARATOR) ? g_canonicalize_filename (value, NULL) : NULL;
    g_autofree char *label = g_path_get_basename (canonical ? canonical : value);
    choice_append (choice, value, label);
    index = choice->values->len - 1;
  }
  gtk_drop_down_set_selected (choice->dropdown, index);
  if (choice->dropdown == self->dataset_dropdown)
    gtk_widget_set_tooltip_text (GTK_WIDGET (choice->dropdown), value);
}

static void
update_sensitivity (DrmadWindow *self)
{
  gtk_widget_set_sensitive (GTK_WIDGET (self->l2_granularity_dropdown),
                            gtk_switch_get_active (self->learn_l2_switch));
  gtk_widget_set_sensitive (GTK_WIDGET (self->segments_spin),
                            gtk_switch_get_active (self->learn_lr_switch)
                            || gtk_switch_get_active (self->learn_momentum_switch));
  gtk_widget_set_sensitive (GTK_WIDGET (self->snapshots_spin),
                            g_strcmp0 (drmad_settings_get (self->settings, "method"), "piecewise") == 0);
}

/* Marks the field of the setting the options reject (the same wording as
 * the command line), or clears the mark: values are checked as they change,
 * not only when Start is pressed. */
static void
validate (DrmadWindow *self)
{
  g_autoptr (GHashTable) values = drmad_settings_dup_values (self->settings);
  DrmadOptions options = { 0 };
  g_autoptr (GError) error = NULL;
  gboolean ok = drmad_options_from_values (&options, values, &error);
  drmad_options_clear (&options);
  if (self->marked) {
    gtk_widget_remove_css_class (self->marked, "error");
    gtk_widget_set_tooltip_text (self->marked, g_object_get_data (G_OBJECT (self->marked), "drmad-tooltip"));
    self->marked = NULL;
  }
  if (ok || !g_str_has_prefix (error->message, "--"))
    return;
  /* the option's name alone: "--clip -1: …", and "--gemm: unknown GEMM
   * path …" of the names the library reads (drmad-options.c, named_option) */
  g_autofree char *key = g_strndup (error->message + 2, strspn (error->message + 2,
                                                                "abcdefghijklmnopqrstuvwxyz0123456789-"));
  GtkWidget *widget = g_hash_table_lookup (self->key_widgets, key);
  if (!widget)
    return;
  gtk_widget_add_css_class (widget, "error");
  gtk_widget_set_tooltip_text (widget, error->message);
  self->marked = widget;
}

static void
sync_key (DrmadWindow *self, const char *key)
{
  const char *value = drmad_settings_get (self->settings, key);
  if (!value)
    return;
  self->syncing = TRUE;
  GtkEditable *extra = g_hash_table_lookup (self->extra_entries, key);
  if (extra && g_strcmp0 (gtk_editable_get_text (extra), value) != 0)
    gtk_editable_set_text (extra, value);
  for (guint i = 0; i < G_N_ELEMENTS (entry_fields); i++)
    if (g_str_equal (entry_fields[i].key, key)) {
      GtkEditable *editable = GTK_EDITABLE (WIDGET_AT (self, entry_fields[i].offset));
      if (g_strcmp0 (gtk_editable_get_text (editable), value) != 0)
        gtk_editable_set_text (editable, value);
    }
  for (guint i = 0; i < G_N_ELEMENTS (spin_fields); i++)
    if (g_str_equal (spin_fields[i].key, key)) {
      guint64 number;
      if (g_ascii_string_to_unsigned (value, 10, 0, G_MAXUINT64, &number, NULL))
        gtk_spin_button_set_value (GTK_SPIN_BUTTON (WIDGET_AT (self, spin_fields[i].offset)), number);
    }
  Choice *choice = find_choice (self, key);
  if (choice)
    sync_choice (self, choice, value);
  if (g_str_equal (key, "learn")) {
    g_auto (GStrv) groups = g_strsplit (value, ",", -1);
    for (guint g = 0; g < G_N_ELEMENTS (learn_groups); g++) {
      gboolean on = FALSE;
      for (char **group = groups; *group; group++)
        on = on || g_str_equal (g_strstrip (*group), learn_groups[g]);
      gtk_switch_set_active (learn_switch (self, g), on);
    }
  }
  self->syncing = FALSE;
  update_sensitivity (self);
}

static void
sync_all (DrmadWindow *self)
{
  guint n;
  const DrmadOptionSpec *specs = drmad_options_get_specs (&n);
  for (guint i = 0; i < n; i++)
    if (specs[i].in_ini)
      sync_key (self, specs[i].name);
}

static void
on_settings_changed (DrmadSettings *settings, const char *key, DrmadWindow *self)
{
  sync_key (self, key);
  validate (self);
}

/* ---- widgets → settings ---- */

static void
store (DrmadWindow *self, const char *key, const char *value)
{
  if (self->syncing)
    return;
  g_autoptr (GError) error = NULL;
  if (!drmad_settings_set (self->settings, key, value, &error))
    drmad_window_show_error (self, error->message);
}

static void
on_entry_changed (GtkEditable *editable, DrmadWindow *self)
{
  store (self, g_object_get_data (G_OBJECT (editable), "drmad-key"), gtk_editable_get_text (editable));
}

static void
on_spin_changed (GtkSpinButton *spin, DrmadWindow *self)
{
  g_autofree char *text = g_strdup_printf ("%.0f", gtk_spin_button_get_value (spin));
  store (self, g_object_get_data (G_OBJECT (spin), "drmad-key"), text);
}

static void
on_choice_selected (GtkDropDown *dropdown, GParamSpec *pspec, Choice *choice)
{
  DrmadWindow *self = choice->window;
  guint selected = gtk_drop_down_get_selected (dropdown);
  if (selected >= choice->values->len)
    return;
  store (self, choice->key, choice->values->pdata[selected]);
  if (dropdown == self->dataset_dropdown)
    gtk_widget_set_tooltip_text (GTK_WIDGET (dropdown), choice->values->pdata[selected]);
}

static void
on_learn_switch (GtkSwitch *widget, GParamSpec *pspec, DrmadWindow *self)
{
  update_sensitivity (self);
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  for (guint g = 0; g < G_N_ELEMENTS (learn_groups); g++)
    if (gtk_switch_get_active (learn_switch (self, g)))
      g_strv_builder_add (builder, learn_groups[g]);
  g_auto (GStrv) groups = g_strv_builder_end (builder);
  g_autofree char *value = groups[0] ? g_strjoinv (",", groups) : g_strdup ("none");
  store (self, "learn", value);
}

/* Drop-down buttons ellipsize (device names are long); their lists do not. */
static void
setup_label (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer ellipsize)
{
  GtkWidget *label = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  if (GPOINTER_TO_INT (ellipsize)) {
    gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
    gtk_label_set_width_chars (GTK_LABEL (label), 8);
  }
  gtk_list_item_set_child (item, label);
}

static void
bind_label (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer unused)
{
  GtkStringObject *string = gtk_list_item_get_item (item);
  gtk_label_set_text (GTK_LABEL (gtk_list_item_get_child (item)), gtk_string_object_get_string (string));
}

static GtkListItemFactory *
label_factory (gboolean ellipsize)
{
  GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();
  g_signal_connect (factory, "setup", G_CALLBACK (setup_label), GINT_TO_POINTER (ellipsize));
  g_signal_connect (factory, "bind", G_CALLBACK (bind_label), NULL);
  return factory;
}

/* @values NULL: an open list, filled in code. */
static Choice *
bind_choice (DrmadWindow *self, GtkDropDown *dropdown, const char *key, const char *const *values)
{
  Choice *choice = g_new0 (Choice, 1);
  choice->window = self;
  choice->dropdown = dropdown;
  choice->key = key;
  choice->values = g_ptr_array_new_with_free_func (g_free);
  choice->open = values == NULL;
  if (choice->open) {
    choice->labels = gtk_string_list_new (NULL);
    gtk_drop_down_set_model (dropdown, G_LIST_MODEL (choice->labels));
    g_object_unref (choice->labels);
  } else {
    choice->labels = GTK_STRING_LIST (gtk_drop_down_get_model (dropdown));
    for (const char *const *value = values; *value; value++)
      g_ptr_array_add (choice->values, g_strdup (*value));
    g_assert (g_list_model_get_n_items (G_LIST_MODEL (choice->labels)) == choice->values->len);
  }
  g_autoptr (GtkListItemFactory) button = label_factory (TRUE);
  g_autoptr (GtkListItemFactory) list = label_factory (FALSE);
  gtk_drop_down_set_factory (dropdown, button);
  gtk_drop_down_set_list_factory (dropdown, list);
  g_ptr_array_add (self->choices, choice);
  return choice;
}

static const char *
builtin_label (const char *name)
{
  if (g_str_equal (name, "fashion-mnist"))
    return "Fashion-MNIST";
  if (g_str_equal (name, "mnist"))
    return "MNIST";
  return name;
}

void
drmad_window_add_dataset (DrmadWindow *self, const char *value, const char *label)
{
  Choice *choice = find_choice (self, "dataset");
  guint index;
  if (!find_value (self, choice, value, &index))
    choice_append (choice, value, label);
}

/* ---- devices, listed off the main thread (a GPU driver can take a while) ---- */

static void
list_devices_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  GError *error = NULL;
  GPtrArray *list = drmad_device_list (&error);
  if (list)
    g_task_return_pointer (task, list, (GDestroyNotify) g_ptr_array_unref);
  else
    g_task_return_error (task, error);
}

static void
list_devices_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) list = g_task_propagate_pointer (G_TASK (result), &error);
  g_autoptr (DrmadWindow) self = drmad_window_task_window (user_data);
  if (!self || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  Choice *choice = find_choice (self, "device");
  if (!list) {
    gtk_widget_set_tooltip_text (GTK_WIDGET (self->device_dropdown), error->message);
    return;
  }
  self->syncing = TRUE;
  for (guint i = 0; i < list->len; i++) {
    DrmadDeviceInfo *info = list->pdata[i];
    g_autofree char *value = g_strdup_printf ("%u", info->index);
    g_autofree char *label = g_strdup_printf ("%u · %s · %s", info->index, info->type, info->name);
    guint index;
    if (g_ptr_array_find_with_equal_func (choice->values, value, g_str_equal, &index))
      gtk_string_list_splice (choice->labels, index, 1, (const char *const[]){ label, NULL });
    else
      choice_append (choice, value, label);
  }
  self->syncing = FALSE;
  sync_key (self, "device");
}

/* The wheel scrolls the settings column; it changes a number field or a
 * drop-down only when that has the keyboard focus (else scrolling the
 * column changed whatever value passed under the pointer). */
gboolean
drmad_window_settings_wheel (DrmadWindow *self, double x, double y, double dy)
{
  GtkWidget *scroller = self->settings_scroller;
  GtkWidget *focus = gtk_root_get_focus (gtk_widget_get_root (scroller));
  GtkWidget *target = gtk_widget_pick (scroller, x, y, GTK_PICK_DEFAULT);
  if (focus && target && (focus == target || gtk_widget_is_ancestor (target, focus)
                          || gtk_widget_is_ancestor (focus, target)))
    return FALSE;   /* the focused field takes the wheel */
  GtkAdjustment *adjustment = gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (scroller));
  double step = MAX (gtk_adjustment_get_step_increment (adjustment), 48);
  gtk_adjustment_set_value (adjustment, gtk_adjustment_get_value (adjustment) + dy * step);
  return TRUE;
}

static gboolean
on_settings_scroll (GtkEventControllerScroll *controller, double dx, double dy, DrmadWindow *self)
{
  GtkWidget *scroller = gtk_event_controller_get_widget (GTK_EVENT_CONTROLLER (controller));
  GdkEvent *event = gtk_event_controller_get_current_event (GTK_EVENT_CONTROLLER (controller));
  double x, y, nx, ny;
  if (!event || !gdk_event_get_position (event, &x, &y))
    return drmad_window_settings_wheel (self, -1, -1, dy);
  /* the event's position is the surface's: into the scroller's coordinates */
  GtkWidget *native = GTK_WIDGET (gtk_widget_get_native (scroller));
  gtk_native_get_surface_transform (GTK_NATIVE (native), &nx, &ny);
  graphene_point_t in_window = GRAPHENE_POINT_INIT ((float) (x - nx), (float) (y - ny)), in_scroller;
  if (!gtk_widget_compute_point (native, scroller, &in_window, &in_scroller))
    return drmad_window_settings_wheel (self, -1, -1, dy);
  return drmad_window_settings_wheel (self, in_scroller.x, in_scroller.y, dy);
}

/* The settings under "More settings" shown while it is expanded; collapsed
 * with the focus in one of them, the expander takes it (else GTK gave it to
 * the column's scrolled window). */
static void
on_more_expanded (GtkExpander *expander, GParamSpec *pspec, GtkWidget *grid)
{
  gboolean expanded = gtk_expander_get_expanded (expander);
  GtkRoot *root = gtk_widget_get_root (grid);
  GtkWidget *focus = root ? gtk_root_get_focus (root) : NULL;
  if (!expanded && focus && gtk_widget_is_ancestor (focus, grid))
    gtk_widget_grab_focus (GTK_WIDGET (expander));
  gtk_widget_set_visible (grid, expanded);
}

/* Every run.ini setting the rows above do not show gets an entry under
 * "More settings", with the option's help as its tooltip. The entries
 * follow the expander in the column, shown while it is expanded, rather
 * than being its child: GTK 4.8's expander passes Tab on to its child even
 * while collapsed, when that child is out of the window, and Tab from the
 * expander to the plots logged "gtk_window_get_focus: assertion
 * 'GTK_IS_WINDOW (window)' failed". */
static void
add_more_settings (DrmadWindow *self)
{
  GtkWidget *grid = gtk_grid_new ();
  gtk_grid_set_row_spacing (GTK_GRID (grid), 6);
  gtk_grid_set_column_spacing (GTK_GRID (grid), 12);
  guint n, row = 0;
  const DrmadOptionSpec *specs = drmad_options_get_specs (&n);
  for (guint i = 0; i < n; i++) {
    if (!specs[i].in_ini || g_hash_table_contains (self->key_widgets, specs[i].name)
        || g_str_equal (specs[i].name, "learn") || g_str_equal (specs[i].name, "l2-granularity"))
      continue;
    GtkWidget *label = gtk_label_new (specs[i].name);
    gtk_label_set_xalign (GTK_LABEL (label), 0);
    gtk_widget_add_css_class (label, "dim-label");
    GtkWidget *entry = gtk_entry_new ();
    gtk_widget_set_hexpand (entry, TRUE);
    gtk_widget_set_tooltip_text (entry, specs[i].help);
    g_object_set_data (G_OBJECT (entry), "drmad-key", (gpointer) specs[i].name);
    g_object_set_data_full (G_OBJECT (entry), "drmad-tooltip", g_strdup (specs[i].help), g_free);
    g_signal_connect (entry, "changed", G_CALLBACK (on_entry_changed), self);
    gtk_widget_set_name (entry, specs[i].name);
    gtk_label_set_mnemonic_widget (GTK_LABEL (label), entry);   /* its name to a screen reader */
    gtk_grid_attach (GTK_GRID (grid), label, 0, row, 1, 1);
    gtk_grid_attach (GTK_GRID (grid), entry, 1, row++, 1, 1);
    g_hash_table_insert (self->extra_entries, (gpointer) specs[i].name, entry);
    g_hash_table_insert (self->key_widgets, (gpointer) specs[i].name, entry);
  }
  GtkWidget *expander = gtk_expander_new ("More settings");
  gtk_widget_set_tooltip_text (expander, "Every other setting of run.ini (drmad --help explains each)");
  g_signal_connect_object (expander, "notify::expanded", G_CALLBACK (on_more_expanded), grid, 0);
  on_more_expanded (GTK_EXPANDER (expander), NULL, grid);
  gtk_box_append (GTK_BOX (self->settings_box), expander);
  gtk_box_append (GTK_BOX (self->settings_box), grid);
}

void
drmad_window_bind_settings (DrmadWindow *self)
{
  self->choices = g_ptr_array_new_with_free_func (choice_free);
  self->key_widgets = g_hash_table_new (g_str_hash, g_str_equal);
  self->extra_entries = g_hash_table_new (g_str_hash, g_str_equal);

  bind_choice (self, self->activation_dropdown, "activation", activation_values);
  bind_choice (self, self->l2_granularity_dropdown, "l2-granularity", granularity_values);
  bind_choice (self, self->method_dropdown, "method", method_values);
  bind_choice (self, self->precision_dropdown, "precision", precision_values);
  Choice *dataset = bind_choice (self, self->dataset_dropdown, "dataset", NULL);
  g_auto (GStrv) builtin = drmad_dataset_list_builtin ();
  for (char **name = builtin; *name; name++)
    choice_append (dataset, *name, builtin_label (*name));
  Choice *device = bind_choice (self, self->device_dropdown, "device", NULL);
  choice_append (device, "", "Automatic: the first GPU, else the CPU");

  for (guint i = 0; i < self->choices->len; i++) {
    Choice *choice = self->choices->pdata[i];
    g_hash_table_insert (self->key_widgets, (gpointer) choice->key, choice->dropdown);
  }
  for (guint i = 0; i < G_N_ELEMENTS (entry_fields); i++)
    g_hash_table_insert (self->key_widgets, (gpointer) entry_fields[i].key, WIDGET_AT (self, entry_fields[i].offset));
  for (guint i = 0; i < G_N_ELEMENTS (spin_fields); i++)
    g_hash_table_insert (self->key_widgets, (gpointer) spin_fields[i].key, WIDGET_AT (self, spin_fields[i].offset));
  g_hash_table_insert (self->key_widgets, "learn", self->learn_l2_switch);
  GHashTableIter iter;
  gpointer widget;
  g_hash_table_iter_init (&iter, self->key_widgets);
  while (g_hash_table_iter_next (&iter, NULL, &widget))
    g_object_set_data_full (G_OBJECT (widget), "drmad-tooltip", g_strdup (gtk_widget_get_tooltip_text (widget)), g_free);
  /* One column of labels across the sections' grids ("More settings" apart: its names are longer). */
  g_autoptr (GtkSizeGroup) labels = gtk_size_group_new (GTK_SIZE_GROUP_HORIZONTAL);
  for (GtkWidget *section = gtk_widget_get_first_child (self->settings_box); section;
       section = gtk_widget_get_next_sibling (section))
    if (GTK_IS_GRID (section))
      for (int row = 0; gtk_grid_get_child_at (GTK_GRID (section), 0, row); row++)
        gtk_size_group_add_widget (labels, gtk_grid_get_child_at (GTK_GRID (section), 0, row));
  add_more_settings (self);
  GtkWidget *scroller = gtk_widget_get_ancestor (self->settings_box, GTK_TYPE_SCROLLED_WINDOW);
  if (scroller) {
    GtkEventController *scroll = gtk_event_controller_scroll_new (GTK_EVENT_CONTROLLER_SCROLL_VERTICAL);
    gtk_event_controller_set_propagation_phase (scroll, GTK_PHASE_CAPTURE);
    g_signal_connect (scroll, "scroll", G_CALLBACK (on_settings_scroll), self);
    gtk_widget_add_controller (scroller, scroll);
  }

  for (guint i = 0; i < G_N_ELEMENTS (entry_fields); i++) {
    GtkWidget *entry = WIDGET_AT (self, entry_fields[i].offset);
    g_object_set_data (G_OBJECT (entry), "drmad-key", (gpointer) entry_fields[i].key);
    g_signal_connect (entry, "changed", G_CALLBACK (on_entry_changed), self);
  }
  for (guint i = 0; i < G_N_ELEMENTS (spin_fields); i++) {
    GtkWidget *spin = WIDGET_AT (self, spin_fields[i].offset);
    g_object_set_data (G_OBJECT (spin), "drmad-key", (gpointer) spin_fields[i].key);
    g_signal_connect (spin, "value-changed", G_CALLBACK (on_spin_changed), self);
  }
  for (guint i = 0; i < self->choices->len; i++) {
    Choice *choice = self->choices->pdata[i];
    g_signal_connect (choice->dropdown, "notify::selected", G_CALLBACK (on_choice_selected), choice);
  }
  for (guint g = 0; g < G_N_ELEMENTS (learn_groups); g++)
    g_signal_connect (learn_switch (self, g), "notify::active", G_CALLBACK (on_learn_switch), self);
  g_signal_connect_object (self->settings, "changed", G_CALLBACK (on_settings_changed), self, 0);
  sync_all (self);
  validate (self);

  g_autoptr (GTask) task = g_task_new (NULL, self->cancellable, list_devices_done, drmad_window_task_data (self));
  g_task_run_in_thread (task, list_devices_thread);
}

GtkWidget *
drmad_window_get_setting_widget (DrmadWindow *self, const char *key)
{
  g_return_val_if_fail (DRMAD_IS_WINDOW (self), NULL);
  return g_hash_table_lookup (self->key_widgets, key);
}

const char *
drmad_window_get_invalid_setting (DrmadWindow *self)
{
  g_return_val_if_fail (DRMAD_IS_WINDOW (self), NULL);
  if (!self->marked)
    return NULL;
  GHashTableIter iter;
  gpointer key, widget;
  g_hash_table_iter_init (&iter, self->key_widgets);
  while (g_hash_table_iter_next (&iter, &key, &widget))
    if (widget == self->marked)
      return key;
  return NULL;
}
