/* Shared by drmad-window.c (state, the runner's signals), drmad-window-settings.c
 * (settings ↔ widgets) and drmad-window-actions.c (Start, Stop, Open run,
 * Export, Open dataset). */
#pragma once

#include "drmad-window.h"
#include "drmad-runner.h"

G_BEGIN_DECLS

struct _DrmadWindow {
  GtkApplicationWindow parent_instance;

  /* template children */
  GtkLabel       *subtitle_label;
  GtkRevealer    *banner_revealer;
  GtkLabel       *banner_label;
  GtkWidget      *settings_box;
  GtkWidget      *settings_scroller;
  GtkToggleButton *settings_toggle;
  GtkWidget      *menu_button;
  GtkWidget      *start_button, *stop_button;
  GtkDropDown    *dataset_dropdown;
  GtkSpinButton  *train_size_spin, *val_size_spin;
  GtkEntry       *layers_entry;
  GtkDropDown    *activation_dropdown;
  GtkSpinButton  *batch_spin;
  GtkSwitch      *learn_l2_switch, *learn_lr_switch, *learn_momentum_switch, *learn_init_switch;
  GtkDropDown    *l2_granularity_dropdown;
  GtkSpinButton  *segments_spin;
  GtkEntry       *init_l2_entry, *init_lr_entry, *init_momentum_entry, *init_scale_entry;
  GtkSpinButton  *iters_spin, *meta_iters_spin;
  GtkDropDown    *method_dropdown;
  GtkSpinButton  *snapshots_spin;
  GtkEntry       *meta_lr_entry;
  GtkEntry       *seed_entry;
  GtkDropDown    *device_dropdown, *precision_dropdown;
  DrmadPlotView  *l2_view, *lr_view, *loss_view;
  DrmadPlotView  *momentum_view, *init_view, *norms_view, *fidelity_view;   /* the other pages beside lr_view */
  GtkLabel       *summary_label;
  GtkProgressBar *progress_bar;
  GtkLabel       *status_label;

  DrmadSettings  *settings;
  DrmadRunner    *runner;
  GCancellable   *cancellable;      /* of the helper tasks (open run, export, dataset, devices) */
  GCancellable   *compare_cancellable;   /* of the comparison loading now, or NULL */
  GtkWidget      *compare_loading;       /* its window (the load's task holds it) */
  GPtrArray      *choices;          /* Choice: the drop-downs bound to settings */
  gboolean        syncing;          /* settings → widgets in progress */
  guint           tasks_running;    /* helper tasks in flight */

  /* the run shown */
  char           *run_folder;
  char           *resume_folder;    /* Start continues it while the settings match resume_values */
  GHashTable     *resume_values;
  GHashTable     *run_values;       /* the settings the current run started with */
  gboolean        replace_pending;  /* a new run started: the shown one stays until its folder exists */
  guint           n_plotted;
  guint64         meta_total;
  GArray         *rows;             /* DrmadJobRow of every meta-iteration shown: the summary's numbers */
  char           *learned;          /* the learned values after the last of them */
  char           *last_norms;       /* the hypergradient norms of the last meta-iteration */
  char           *last_fidelity;    /* the last fidelity measured, and its warning */
  GHashTable     *key_widgets;      /* setting → the widget that edits it (drmad-window-settings.c) */
  GHashTable     *extra_entries;    /* setting → its entry in "More settings" */
  GtkWidget      *marked;           /* the field marked invalid, if any */
  GString        *summary_extra;    /* lines after the numbers: events, how the run ended */

  /* progress */
  char           *device_text;
  gint64          started_us;
  DrmadEta        eta;              /* the time left, as the terminal computes it */
  guint           tick_id;
  char           *status;

  /* the screenshot hook */
  char           *screenshot_path;
  guint           screenshot_after;
  gboolean        screenshot_taken;
  gboolean        screenshot_saving;   /* taken, not yet written: the end of the run waits for it */
  gboolean        screenshot_compare;  /* of the comparison, once it has loaded */
};

/* drmad-window.c */
void drmad_window_update_actions (DrmadWindow *self);
void drmad_window_set_status     (DrmadWindow *self, const char *format, ...) G_GNUC_PRINTF (2, 3);
void drmad_window_clear_plots    (DrmadWindow *self);
void drmad_window_set_plots      (DrmadWindow *self, DrmadPlot *l2, DrmadPlot *lr, DrmadPlot *loss, guint n);
/* The summary's numbers: takes @rows (DrmadJobRow). */
void drmad_window_set_rows       (DrmadWindow *self, GArray *rows);
void drmad_window_set_learned    (DrmadWindow *self, const char *learned);
/* Takes the four plots of the pages beside the learning rate (each may be NULL). */
void drmad_window_set_extra_plots (DrmadWindow *self, DrmadPlot *momentum, DrmadPlot *init, DrmadPlot *norms,
                                   DrmadPlot *fidelity);
void drmad_window_set_run_folder (DrmadWindow *self, const char *folder);
void drmad_window_update_summary (DrmadWindow *self);
void drmad_window_add_dataset    (DrmadWindow *self, const char *value, const char *label);
void drmad_window_runner_started (DrmadWindow *self, gboolean resuming, guint64 meta_total);
/* A comparison loaded into @compare (NULL: it failed, the banner says why): the screenshot hook's turn. */
void drmad_window_compare_finished (DrmadWindow *self, GtkWidget *compare);

/* drmad-window-settings.c: builds the drop-downs' lists, connects both ways, syncs, lists the devices */
void drmad_window_bind_settings  (DrmadWindow *self);

/* drmad-window-actions.c */
void drmad_window_install_actions (DrmadWindow *self);

/* A window's GTask reaches it through this (its callback's data, taken
 * once by drmad_window_task_window: a new reference, or NULL once the
 * window has gone), never as its source object (drmad-window-actions.c). */
gpointer     drmad_window_task_data   (DrmadWindow *self);
DrmadWindow *drmad_window_task_window (gpointer data);

G_END_DECLS
