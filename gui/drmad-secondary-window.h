/* The keys that close a window the main window opens (Compare runs, the
 * keyboard shortcuts, About, a question), and the focus it gives back. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* Ctrl+W closes @window as its window manager's close button does (the
 * window.close action: close-request, then the window's own handling of
 * it), and with @escape so does Escape; GtkDialog, GtkAboutDialog and
 * GtkShortcutsWindow bind Escape themselves, so they pass FALSE. As
 * @window goes (closed, or destroyed by the code) while it has the focus,
 * the window it is transient for gets the focus back. */
void drmad_secondary_window_setup (GtkWindow *window, gboolean escape);

G_END_DECLS
